// Denial of service through the tokenizer: a tokenizer.json with a backtracking regex, and
// prompts far beyond what CLIP reads, are refused with a TokenizerError before any matching.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ClipTokenizer, CLIP_SPLIT_PATTERN, KNOWN_TOKENIZER_PATTERNS, MAX_PROMPT_CHARS, TokenizerError, tokenizerFromVocabMerges,
} from '../../../src/diffusion';
import { thrownBy } from '../thrownBy';

const tinyJson = JSON.parse(readFileSync(fileURLToPath(new URL('../../../public/models/tiny/tokenizer/tokenizer.json', import.meta.url)), 'utf8'));
const sd = (f: string) => readFileSync(fileURLToPath(new URL(`../../fixtures/sd/diffusers/tokenizer/${f}`, import.meta.url)), 'utf8');

const refusal = (f: () => unknown) => thrownBy(TokenizerError, f);

describe('tokenizer.json regexes', () => {
  it("the project's tokenizers (the tiny pack's, the packer's from vocab + merges) are accepted", () => {
    expect(ClipTokenizer.fromJSON(structuredClone(tinyJson)).encode('a photo of sks', 8).ids).toHaveLength(8);
    expect(ClipTokenizer.fromJSON(tokenizerFromVocabMerges(sd('vocab.json'), sd('merges.txt'))).tokenize('a photo').length).toBeGreaterThan(0);
    expect(KNOWN_TOKENIZER_PATTERNS.has(CLIP_SPLIT_PATTERN)).toBe(true);
  });

  it('a pre-tokenizer regex of (a+)+$ is refused before it can run, naming where it is', () => {
    const json = structuredClone(tinyJson);
    json.pre_tokenizer.pretokenizers[0].pattern = { Regex: '(a+)+$' };
    const err = refusal(() => ClipTokenizer.fromJSON(json));
    expect(err.code).toBe('unknown-pattern');
    expect(err.message).toMatch(/^tokenizer\.json\.pre_tokenizer\.pretokenizers\[0\]\.pattern has the regex "\(a\+\)\+\$", which is not CLIP's/);
  });

  it('an unknown regex anywhere (normalizer, a nested Split, a non-string) is refused', () => {
    const inNormalizer = structuredClone(tinyJson);
    inNormalizer.normalizer.normalizers[1].pattern = { Regex: '(\\s+)+x' };
    expect(refusal(() => ClipTokenizer.fromJSON(inNormalizer)).message).toMatch(/^tokenizer\.json\.normalizer\.normalizers\[1\]\.pattern/);
    const added = structuredClone(tinyJson);
    added.pre_tokenizer = { type: 'Split', pattern: { Regex: ['x'] }, behavior: 'Isolated', invert: false };
    expect(refusal(() => ClipTokenizer.fromJSON(added)).code).toBe('unknown-pattern');
    // a literal String pattern is escaped by the library, so it is no risk
    const literal = structuredClone(tinyJson);
    literal.normalizer.normalizers[1].pattern = { String: '(a+)+$' };
    expect(() => ClipTokenizer.fromJSON(literal)).not.toThrow();
  });

  it('text that is not JSON, or JSON that is no tokenizer, is a bad-json TokenizerError', () => {
    expect(refusal(() => ClipTokenizer.fromJSON('{"model": ')).code).toBe('bad-json');
    for (const v of [null, [], 5, { model: null }, { vocab: {} }]) expect(refusal(() => ClipTokenizer.fromJSON(v)).code).toBe('bad-json');
  });
});

describe('prompt length', () => {
  const tokenizer = ClipTokenizer.fromJSON(structuredClone(tinyJson));

  it(`a prompt of ${MAX_PROMPT_CHARS} characters is read (and truncated to the text encoder's tokens)`, () => {
    const enc = tokenizer.encode('a photo of sks '.repeat(200).slice(0, MAX_PROMPT_CHARS), 77);
    expect(enc.truncated).toBe(true);
    expect(enc.ids).toHaveLength(77);
  });

  it('one character more, or 0.89M, is refused with a clear message, by encode and tokenize alike', () => {
    const err = refusal(() => tokenizer.encode('x'.repeat(MAX_PROMPT_CHARS + 1), 77));
    expect(err.code).toBe('prompt-too-long');
    expect(err.message).toBe(`the prompt has ${MAX_PROMPT_CHARS + 1} characters; at most ${MAX_PROMPT_CHARS} are read (the text encoder keeps only the first 75 tokens, about 300 characters)`);
    expect(refusal(() => tokenizer.tokenize('a '.repeat(445_000))).code).toBe('prompt-too-long');
  });
});
