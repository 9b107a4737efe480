// The CLIP tokenizer built from the shipped BPE file (src/diffusion/clip-bpe): its sha256 is the
// one recorded beside it, and known prompts encode to CLIP's ids. The expected ids are derived
// here from the vocabulary file itself (a merge's id is 512 + its line number), not typed in.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { CLIP_BPE_SHA256, CLIP_VOCAB_SIZE, clipTokenizerFromBpe } from '../../../src/diffusion/clipBpe';
import { CLIP_BPE_URL, readClipBpeText } from '../../../src/diffusion/clipBpeNode';
import { ClipTokenizer } from '../../../src/diffusion/tokenizer';

const gz = readFileSync(CLIP_BPE_URL);
const lines = gunzipSync(gz).toString('utf8').split('\n');
const readme = readFileSync(new URL('README.md', CLIP_BPE_URL), 'utf8');
const tokenizer = ClipTokenizer.fromJSON(clipTokenizerFromBpe(readClipBpeText()));

/** id of a merged token: 256 bytes + 256 end-of-word bytes, then one id per merge line (line 0 is the header) */
function mergeId(token: string): number {
  const i = lines.findIndex((l, n) => n > 0 && l.replace(' ', '') === token);
  if (i < 0) throw new Error(`${token} is not a merge in the file`);
  return 512 + i - 1;
}

describe("CLIP's BPE vocabulary, shipped", () => {
  it('is the file README.md names, with its MIT licence beside it', () => {
    expect(createHash('sha256').update(gz).digest('hex')).toBe(CLIP_BPE_SHA256);
    expect(readme).toContain(CLIP_BPE_SHA256);
    expect(readFileSync(new URL('LICENSE', CLIP_BPE_URL), 'utf8')).toMatch(/^MIT License[\s\S]*Copyright \(c\) 2021 OpenAI/);
  });

  it('"a photo of a cat" → 49406, 320, 1125, 539, 320, 2368, 49407, the ids the file gives', () => {
    const ids = Array.from(tokenizer.encode('a photo of a cat', 9).ids);
    expect(ids).toEqual([49406, 320, 1125, 539, 320, 2368, 49407, 49407, 49407]);
    expect([mergeId('photo</w>'), mergeId('of</w>'), mergeId('cat</w>')]).toEqual([1125, 539, 2368]);
    // "a</w>" is a single byte with the end-of-word mark: 256 + its place in the byte alphabet ('!' is 0)
    expect(320).toBe(256 + ('a'.charCodeAt(0) - '!'.charCodeAt(0)));
    expect([tokenizer.bosId, tokenizer.eosId]).toEqual([CLIP_VOCAB_SIZE - 2, CLIP_VOCAB_SIZE - 1]);
  });

  it('longer words split as CLIP splits them, each piece a merge from the file', () => {
    const ids = tokenizer.tokenize('sks person, oil painting');
    expect(ids).toEqual([mergeId('sks</w>'), mergeId('person</w>'), 267, mergeId('oil</w>'), mergeId('painting</w>')]);
  });

  it('cut to a smaller vocabulary keeps the first merges and puts the special tokens last', () => {
    const small = ClipTokenizer.fromJSON(clipTokenizerFromBpe(readClipBpeText(), 1000));
    expect([small.bosId, small.eosId]).toEqual([998, 999]);
    // "photo</w>" is merge 613 of the file, past the first 486: it falls back to smaller pieces
    const photo = small.tokenize('photo');
    expect(photo.length).toBeGreaterThan(1);
    expect(photo.every((id) => id < 998)).toBe(true);
    expect(small.tokenize('a')).toEqual([320]);
    expect(() => clipTokenizerFromBpe(readClipBpeText(), 500)).toThrow(/between 514 and 49408 ids/);
    expect(() => clipTokenizerFromBpe(readClipBpeText(), 49409)).toThrow(/between 514 and 49408 ids/);
  });
});
