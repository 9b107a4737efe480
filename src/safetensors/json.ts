// A strict JSON parser for safetensors headers. JSON.parse keeps the last of two equal keys, so
// a header could name a tensor twice and different readers would disagree about which one is
// real; the spec forbids duplicates, and this parser finds them. Objects come back without a
// prototype, so a key such as "__proto__" is just a key. Nesting is bounded so hostile input
// cannot exhaust the stack.

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject { [key: string]: JsonValue }

export class JsonSyntaxError extends Error {
  constructor(message: string, readonly duplicateKey?: string) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

const MAX_DEPTH = 64;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const PLAIN = /[^"\\\u0000-\u001f]*/y;

export function parseStrictJson(text: string): JsonValue {
  let i = 0;

  const fail = (why: string): never => {
    throw new JsonSyntaxError(`${why} at character ${i}`);
  };
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return;
    }
  };
  const expect = (ch: string) => {
    if (text[i] !== ch) fail(`expected '${ch}'`);
    i++;
  };

  const parseString = (): string => {
    expect('"');
    let out = '';
    for (;;) {
      PLAIN.lastIndex = i;
      PLAIN.exec(text);
      out += text.slice(i, PLAIN.lastIndex);
      i = PLAIN.lastIndex;
      if (i >= text.length) fail('unterminated string');
      const c = text[i];
      if (c === '"') { i++; return out; }
      if (c !== '\\') fail('control character in string');
      const e = text[i + 1];
      i += 2;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const hex = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
          break;
        }
        default: i -= 2; fail('bad escape');
      }
    }
  };

  const parseValue = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj = Object.create(null) as JsonObject;
      ws();
      if (text[i] === '}') { i++; return obj; }
      for (;;) {
        ws();
        const key = parseString();
        if (Object.prototype.hasOwnProperty.call(obj, key)) {
          throw new JsonSyntaxError(`duplicate key ${JSON.stringify(key)}`, key);
        }
        ws();
        expect(':');
        obj[key] = parseValue(depth + 1);
        ws();
        if (text[i] === ',') { i++; continue; }
        expect('}');
        return obj;
      }
    }
    if (c === '[') {
      i++;
      const arr: JsonValue[] = [];
      ws();
      if (text[i] === ']') { i++; return arr; }
      for (;;) {
        arr.push(parseValue(depth + 1));
        ws();
        if (text[i] === ',') { i++; continue; }
        expect(']');
        return arr;
      }
    }
    if (c === '"') return parseString();
    if (text.startsWith('true', i)) { i += 4; return true; }
    if (text.startsWith('false', i)) { i += 5; return false; }
    if (text.startsWith('null', i)) { i += 4; return null; }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m || m[0].length === 0) fail(i >= text.length ? 'unexpected end' : `unexpected ${JSON.stringify(text[i])}`);
    i += m![0].length;
    return Number(m![0]);
  };

  const value = parseValue(0);
  ws();
  if (i !== text.length) fail('trailing characters');
  return value;
}

export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
