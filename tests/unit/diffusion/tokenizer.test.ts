import { describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../../src/diffusion/tokenizer';
import {
  BOS_TOKEN,
  EOS_TOKEN,
  buildClipTokenizerJson,
  tokenizerFromVocabMerges,
  vocabMergesFromTokenizerJson,
} from '../../../src/diffusion/tokenizerBuild';

const WORDS = ['a', 'photo', 'of', 'sks', 'person', 'dog', 'in', 'the', 'style', 'watercolor', 'painting', 'portrait'];
const json = buildClipTokenizerJson(WORDS);
const tokenizer = ClipTokenizer.fromJSON(json);

describe('buildClipTokenizerJson + ClipTokenizer', () => {
  it('encodes every listed word, including the trigger word sks, as a single token', () => {
    for (const word of WORDS) {
      const ids = tokenizer.tokenize(word);
      expect(ids, word).toHaveLength(1);
      expect(tokenizer.idToToken(ids[0])).toBe(`${word}</w>`);
    }
    expect(tokenizer.tokenize('a photo of sks person')).toHaveLength(5);
  });

  it('lays out the byte alphabet with the ids of the real CLIP vocab', () => {
    // openai/clip-vit-large-patch14: "!" = 0, "!</w>" = 256, "a</w>" = 320.
    expect(tokenizer.tokenToId('!')).toBe(0);
    expect(tokenizer.tokenToId('!</w>')).toBe(256);
    expect(tokenizer.tokenToId('a</w>')).toBe(320);
  });

  it('still encodes unknown words, falling back to single characters', () => {
    const ids = tokenizer.tokenize('zxq');
    expect(ids.map((id) => tokenizer.idToToken(id))).toEqual(['z', 'x', 'q</w>']);
    // Non-ASCII goes through the byte-level alphabet, never to the unknown token.
    const emoji = tokenizer.tokenize('café ☕');
    expect(emoji.length).toBeGreaterThan(4);
    expect(emoji).not.toContain(tokenizer.eosId);
    expect(tokenizer.decode(tokenizer.encode('café ☕').ids)).toBe('café ☕');
  });

  it('normalises case and whitespace, and splits punctuation and digits like CLIP', () => {
    expect(tokenizer.tokenize('  A  PHOTO\tof SKS ')).toEqual(tokenizer.tokenize('a photo of sks'));
    const tokens = tokenizer.tokenize('sks, 42').map((id) => tokenizer.idToToken(id));
    expect(tokens).toEqual(['sks</w>', ',</w>', '4</w>', '2</w>']);
  });

  it('frames with BOS ... EOS and pads with EOS; BOS/EOS are the two highest ids', () => {
    const { ids, truncated, eosIndex } = tokenizer.encode('a photo of sks dog');
    const vocabSize = Object.keys(json.model.vocab).length;
    expect(tokenizer.bosId).toBe(vocabSize - 2);
    expect(tokenizer.eosId).toBe(vocabSize - 1);
    expect(tokenizer.padId).toBe(tokenizer.eosId);
    expect(ids).toBeInstanceOf(Int32Array);
    expect(ids).toHaveLength(77);
    expect(truncated).toBe(false);
    expect(ids[0]).toBe(tokenizer.bosId);
    expect(Array.from(ids.subarray(1, 6))).toEqual(tokenizer.tokenize('a photo of sks dog'));
    expect(eosIndex).toBe(6);
    expect(ids.subarray(eosIndex).every((id) => id === tokenizer.eosId)).toBe(true);
    // CLIP pools at argmax(ids); with EOS as the highest id that is eosIndex.
    expect(ids.indexOf(Math.max(...ids))).toBe(eosIndex);
  });

  it('truncates to BOS + the first 75 tokens + EOS', () => {
    const words = Array.from({ length: 100 }, (_, i) => WORDS[i % WORDS.length]);
    const { ids, truncated, eosIndex } = tokenizer.encode(words.join(' '));
    expect(truncated).toBe(true);
    expect(ids).toHaveLength(77);
    expect(eosIndex).toBe(76);
    expect(ids[76]).toBe(tokenizer.eosId);
    expect(Array.from(ids.subarray(1, 76))).toEqual(tokenizer.tokenize(words.slice(0, 75).join(' ')));

    const exactlyFull = tokenizer.encode(words.slice(0, 75).join(' '));
    expect(exactlyFull.truncated).toBe(false);
    expect(exactlyFull.eosIndex).toBe(76);
  });

  it('honours a custom maxLength and pad token', () => {
    const padded = ClipTokenizer.fromJSON(json, { padToken: '!' }).encode('sks', 8);
    expect(Array.from(padded.ids)).toEqual([tokenizer.bosId, tokenizer.tokenize('sks')[0], tokenizer.eosId, 0, 0, 0, 0, 0]);
    expect(() => tokenizer.encode('sks', 1)).toThrow(RangeError);
  });

  it('keeps every word whole even when later words reuse or pre-empt earlier merges', () => {
    for (const words of [
      ['abc', 'bc'],
      ['bc', 'abc'],
      ['sks', 'skskss', 'ks', 'kss'],
    ]) {
      const t = ClipTokenizer.fromJSON(buildClipTokenizerJson(words));
      for (const word of words) expect(t.tokenize(word), `${word} in ${words}`).toHaveLength(1);
    }
  });

  it('fails loudly on input that is not a tokenizer.json', () => {
    expect(() => ClipTokenizer.fromJSON(null)).toThrow(/tokenizer\.json/);
    expect(ClipTokenizer.fromJSON(JSON.stringify(json)).tokenize('sks')).toEqual(tokenizer.tokenize('sks'));
    expect(() => ClipTokenizer.fromJSON({ model: {} })).toThrow();
  });
});

describe('tokenizerFromVocabMerges', () => {
  it('round-trips vocab.json + merges.txt into the same tokenizer.json', () => {
    const { vocabJson, mergesTxt } = vocabMergesFromTokenizerJson(json);
    expect(mergesTxt.startsWith('#version: 0.2\n')).toBe(true);
    const rebuilt = tokenizerFromVocabMerges(vocabJson, mergesTxt);
    expect(rebuilt).toEqual(json);
    const again = ClipTokenizer.fromJSON(rebuilt);
    for (const prompt of ['a photo of sks person in the style of watercolor painting', 'zxq 12 !?']) {
      expect(again.encode(prompt)).toEqual(tokenizer.encode(prompt));
    }
  });

  it('accepts a parsed vocab object and CRLF merges, and requires the special tokens', () => {
    const vocab = { ...json.model.vocab };
    const merges = `#version: 0.2\r\n${json.model.merges.join('\r\n')}\r\n`;
    expect(tokenizerFromVocabMerges(vocab, merges).model.merges).toEqual(json.model.merges);
    const withoutEos = Object.fromEntries(Object.entries(vocab).filter(([token]) => token !== EOS_TOKEN));
    expect(() => tokenizerFromVocabMerges(withoutEos, merges)).toThrow(EOS_TOKEN);
    expect(() => tokenizerFromVocabMerges(vocab, 'a b c\n')).toThrow(/malformed/);
    expect(json.model.vocab[BOS_TOKEN]).toBe(tokenizer.bosId);
  });
});
