// CLIP's tokenizer built from its BPE merge list (`clip-bpe/bpe_simple_vocab_16e6.txt.gz`,
// shipped with the project, MIT): the vocabulary CLIP derives from it is the 256-symbol byte
// alphabet, the same symbols with the end-of-word mark, one token per merge in merge order, then
// <|startoftext|> and <|endoftext|>. Full size that is 49,408 ids (48,894 merges), SD1.x's.
// A model with a smaller vocabulary (a test miniature) gets the same construction cut to its
// size: the first merges only, with the special tokens again last.
import { BOS_TOKEN, EOS_TOKEN, END_OF_WORD, byteAlphabet, tokenizerFromVocabMerges, type ClipTokenizerJson } from './tokenizerBuild';

export const CLIP_VOCAB_SIZE = 49408;
/** byte alphabet, with and without the end-of-word mark, and the two special tokens */
const FIXED_TOKENS = 2 * 256 + 2;
export const CLIP_BPE_SHA256 = '924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a';
/** the same file gunzipped: what a browser holds when the server sent the .gz with Content-Encoding: gzip (Vite's dev server does) */
export const CLIP_BPE_TEXT_SHA256 = '67603cfda2e032ad77b5f8808af37789d590db664b26df8705d2bf8b3c553fc8';

/** `bpeText`: the gunzipped vocabulary file (first line a version header, then one "left right" merge per line). */
export function clipTokenizerFromBpe(bpeText: string, vocabSize = CLIP_VOCAB_SIZE): ClipTokenizerJson {
  const lines = bpeText.split('\n');
  const available = Math.min(lines.length - 1, CLIP_VOCAB_SIZE - FIXED_TOKENS);
  const merges = vocabSize - FIXED_TOKENS;
  if (!Number.isInteger(vocabSize) || merges < 0 || merges > available) {
    throw new RangeError(`a CLIP tokenizer has between ${FIXED_TOKENS} and ${available + FIXED_TOKENS} ids; the model's token embedding has ${vocabSize} rows`);
  }
  const mergeLines = lines.slice(1, 1 + merges);
  const alphabet = byteAlphabet();
  const tokens = [...alphabet, ...alphabet.map((c) => c + END_OF_WORD), ...mergeLines.map((l) => l.replace(' ', '')), BOS_TOKEN, EOS_TOKEN];
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => { vocab[t] = i; });
  if (Object.keys(vocab).length !== tokens.length) throw new Error('the BPE file repeats a token: not CLIP\'s vocabulary');
  return tokenizerFromVocabMerges(vocab, ['#version: 0.2', ...mergeLines].join('\n'));
}
