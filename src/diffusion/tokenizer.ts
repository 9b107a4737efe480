/**
 * CLIP text tokenizer for Stable Diffusion prompts, backed by
 * `@huggingface/tokenizers` for normalisation, pre-tokenisation and BPE.
 * Framing (BOS ... EOS, padding, truncation) is done here rather than by the
 * library's post-processor so that truncation always keeps the closing EOS.
 */

import { Tokenizer } from '@huggingface/tokenizers';
import { BOS_TOKEN, CLIP_SPLIT_PATTERN, EOS_TOKEN } from './tokenizerBuild';

export const CLIP_MAX_LENGTH = 77;

/**
 * Characters of a prompt the tokenizer reads. CLIP keeps 75 tokens, about 300 characters of
 * English; 2000 leaves room for any real prompt and bounds the work a pasted novel can cause.
 */
export const MAX_PROMPT_CHARS = 2000;

/**
 * The regexes a tokenizer.json may hold: CLIP's pre-tokenizer split (the project's tokenizers,
 * the packer's and the Hub's CLIP tokenizer.json all use it) and its whitespace normalizer. An
 * unknown regex runs on every prompt with backtracking, so a hostile one (`(a+)+$`) hangs.
 */
export const KNOWN_TOKENIZER_PATTERNS: ReadonlySet<string> = new Set([CLIP_SPLIT_PATTERN, '\\s+']);

export type TokenizerErrorCode = 'bad-json' | 'unknown-pattern' | 'missing-token' | 'prompt-too-long';

export class TokenizerError extends Error {
  constructor(readonly code: TokenizerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenizerError';
  }
}

/** Every `{"Regex": …}` in the tokenizer.json, with its JSON path. */
function regexPatterns(json: unknown, path = '', out: [string, unknown][] = []): [string, unknown][] {
  if (Array.isArray(json)) json.forEach((v, i) => regexPatterns(v, `${path}[${i}]`, out));
  else if (json && typeof json === 'object') {
    for (const [k, v] of Object.entries(json)) {
      if (k === 'Regex') out.push([path, v]);
      // the vocabulary and merges are data, not patterns: skip their 10^5 entries
      else if (!(path === '.model' && (k === 'vocab' || k === 'merges'))) regexPatterns(v, `${path}.${k}`, out);
    }
  }
  return out;
}

export interface ClipEncoding {
  /** Exactly maxLength ids: BOS, prompt tokens, EOS, then padding. */
  ids: Int32Array;
  /** True when prompt tokens were dropped to fit. */
  truncated: boolean;
  /** Position of the EOS token, where CLIP's text model pools the prompt embedding. */
  eosIndex: number;
}

export interface ClipTokenizerOptions {
  /** Padding token; SD1.x pads with EOS (the default), SD2.x's OpenCLIP tokenizer with "!". */
  padToken?: string;
}

export class ClipTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;

  private constructor(private readonly tokenizer: Tokenizer, options: ClipTokenizerOptions) {
    this.bosId = this.requireId(BOS_TOKEN);
    this.eosId = this.requireId(EOS_TOKEN);
    this.padId = this.requireId(options.padToken ?? EOS_TOKEN);
  }

  /** Loads a tokenizer.json, parsed or as text (e.g. from `buildClipTokenizerJson` or a CLIP export). */
  static fromJSON(json: unknown, options: ClipTokenizerOptions = {}): ClipTokenizer {
    if (typeof json === 'string') {
      try {
        json = JSON.parse(json);
      } catch (e) {
        throw new TokenizerError('bad-json', `tokenizer.json is not valid JSON: ${(e as Error).message}`, { cause: e });
      }
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json) || !('model' in json) || typeof json.model !== 'object' || json.model === null) {
      throw new TokenizerError('bad-json', 'tokenizer.json: expected an object with a "model"');
    }
    for (const [path, pattern] of regexPatterns(json)) {
      if (typeof pattern !== 'string' || !KNOWN_TOKENIZER_PATTERNS.has(pattern)) {
        throw new TokenizerError('unknown-pattern', `tokenizer.json${path} has the regex ${JSON.stringify(String(pattern).slice(0, 80))}, which is not CLIP's; only CLIP tokenizers are read (a foreign regex can take minutes on one prompt)`);
      }
    }
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(json as object, {});
    } catch (e) {
      throw new TokenizerError('bad-json', `tokenizer.json cannot be read: ${(e as Error).message}`, { cause: e });
    }
    return new ClipTokenizer(tokenizer, options);
  }

  /** Prompt tokens without BOS/EOS; at most MAX_PROMPT_CHARS characters are read. */
  tokenize(text: string): number[] {
    if (text.length > MAX_PROMPT_CHARS) {
      throw new TokenizerError('prompt-too-long', `the prompt has ${text.length} characters; at most ${MAX_PROMPT_CHARS} are read (the text encoder keeps only the first ${CLIP_MAX_LENGTH - 2} tokens, about 300 characters)`);
    }
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  encode(text: string, maxLength = CLIP_MAX_LENGTH): ClipEncoding {
    if (!Number.isInteger(maxLength) || maxLength < 2) throw new RangeError(`maxLength must be an integer >= 2, got ${maxLength}`);
    const content = this.tokenize(text);
    const room = maxLength - 2;
    const kept = content.length > room ? content.slice(0, room) : content;
    const ids = new Int32Array(maxLength).fill(this.padId);
    ids[0] = this.bosId;
    ids.set(kept, 1);
    const eosIndex = kept.length + 1;
    ids[eosIndex] = this.eosId;
    return { ids, truncated: kept.length < content.length, eosIndex };
  }

  /** Text of the given ids without special tokens (for debugging and UI). */
  decode(ids: ArrayLike<number>): string {
    const list = Array.from(ids).filter((id) => id !== this.bosId && id !== this.eosId && id !== this.padId);
    if (list.length === 0) return '';
    return this.tokenizer.decode(list, { skip_special_tokens: true }).trim();
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }

  private requireId(token: string): number {
    const id = this.tokenizer.token_to_id(token);
    if (id === undefined) throw new TokenizerError('missing-token', `tokenizer.json has no token ${token}`);
    return id;
  }
}
