/**
 * Builds CLIP-style tokenizer.json objects, in the layout Hugging Face
 * `tokenizers` writes for openai/clip-vit-large-patch14:
 * NFC + whitespace collapse + lowercase, CLIP's word regex, byte-level
 * alphabet, BPE with a `</w>` end-of-word suffix, and
 * `<|startoftext|>` / `<|endoftext|>` as the last two ids (CLIP's text model
 * pools at the highest id in the sequence, which must be EOS).
 */

export const BOS_TOKEN = '<|startoftext|>';
export const EOS_TOKEN = '<|endoftext|>';
export const END_OF_WORD = '</w>';

/**
 * CLIP's pre-tokenization regex (openai/CLIP simple_tokenizer.py): the
 * special tokens, English contractions, letter runs, single digits, and runs
 * of other non-space characters.
 */
export const CLIP_SPLIT_PATTERN =
  "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

export type Merge = [string, string];

export interface ClipTokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: Array<{
    id: number;
    content: string;
    single_word: boolean;
    lstrip: boolean;
    rstrip: boolean;
    normalized: boolean;
    special: boolean;
  }>;
  normalizer: unknown;
  pre_tokenizer: unknown;
  post_processor: unknown;
  decoder: unknown;
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: string;
    continuing_subword_prefix: string;
    end_of_word_suffix: string;
    fuse_unk: boolean;
    byte_fallback: boolean;
    vocab: Record<string, number>;
    merges: string[];
  };
}

/**
 * GPT-2's reversible byte -> printable character map: printable Latin-1
 * bytes map to themselves, the rest to code points from U+0100 up, so every
 * byte string becomes a whitespace-free string of vocab symbols.
 */
export function byteToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = new Array<string>(256);
  for (const b of printable) table[b] = String.fromCodePoint(b);
  let next = 0;
  for (let b = 0; b < 256; b++) if (table[b] === undefined) table[b] = String.fromCodePoint(256 + next++);
  return table;
}

/** CLIP's base alphabet in CLIP's id order: printable bytes first, then the remapped ones. */
export function byteAlphabet(): string[] {
  const table = byteToUnicode();
  const order: number[] = [];
  for (let b = 0; b < 256; b++) if (table[b].codePointAt(0) === b) order.push(b);
  for (let b = 0; b < 256; b++) if (table[b].codePointAt(0) !== b) order.push(b);
  return order.map((b) => table[b]);
}

/** The normalizer CLIP's tokenizer.json declares, for use outside the tokenizer. */
export function normalizeClipText(text: string): string {
  return text.normalize('NFC').replace(/\s+/gu, ' ').toLowerCase();
}

/** Words as the tokenizer's pre-tokenizer will see them, in byte-level symbols. */
export function preTokenizeClip(text: string): string[] {
  const table = byteToUnicode();
  const encoder = new TextEncoder();
  const pieces = normalizeClipText(text).match(new RegExp(CLIP_SPLIT_PATTERN, 'gu')) ?? [];
  return pieces.map((piece) => Array.from(encoder.encode(piece), (b) => table[b]).join(''));
}

/**
 * Applies BPE merges by rank to one pre-tokenized word, lowest rank first and
 * leftmost first among equal ranks, as Hugging Face tokenizers does.
 */
export function applyBpe(word: string, ranks: Map<string, number>): string[] {
  const symbols = Array.from(word);
  if (symbols.length === 0) return [];
  symbols[symbols.length - 1] += END_OF_WORD;
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const rank = ranks.get(mergeKey(symbols[i], symbols[i + 1]));
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        best = i;
      }
    }
    if (best < 0) return symbols;
    symbols.splice(best, 2, symbols[best] + symbols[best + 1]);
  }
}

function mergeKey(left: string, right: string): string {
  return `${left} ${right}`;
}

export interface BuildClipTokenizerOptions {
  /** Merges to start from (e.g. a real CLIP merge list); learned ones are appended. */
  baseMerges?: Merge[];
}

/**
 * A small CLIP-style tokenizer in which each given word (after CLIP
 * normalisation and splitting; a word with punctuation contributes several
 * pieces) encodes to exactly one token. Other text still encodes, falling
 * back to smaller pieces down to single bytes.
 */
export function buildClipTokenizerJson(words: string[], opts: BuildClipTokenizerOptions = {}): ClipTokenizerJson {
  const alphabet = byteAlphabet();
  const vocab = [...alphabet, ...alphabet.map((c) => c + END_OF_WORD)];
  const known = new Set(vocab);
  const merges: Merge[] = [];
  const ranks = new Map<string, number>();
  const addMerge = ([left, right]: Merge) => {
    const key = mergeKey(left, right);
    if (ranks.has(key)) return;
    ranks.set(key, merges.length);
    merges.push([left, right]);
    if (!known.has(left + right)) {
      known.add(left + right);
      vocab.push(left + right);
    }
  };
  for (const merge of opts.baseMerges ?? []) addMerge(merge);

  for (const word of words.flatMap(preTokenizeClip)) {
    // A merge appended after all existing ones only fires when no earlier merge
    // applies, so learning this word never changes how earlier words split.
    let pieces = applyBpe(word, ranks);
    while (pieces.length > 1) {
      addMerge([pieces[0], pieces[1]]);
      pieces = applyBpe(word, ranks);
    }
  }
  return clipTokenizerJson(Object.fromEntries(vocab.map((token, id) => [token, id])), merges, true);
}

/**
 * The same tokenizer.json structure from CLIP's `vocab.json` (token -> id,
 * already containing the special tokens) and `merges.txt` (one "left right"
 * pair per line after a `#version` header), as shipped in diffusers exports.
 */
export function tokenizerFromVocabMerges(vocabJson: string | Record<string, number>, mergesTxt: string): ClipTokenizerJson {
  const vocab: Record<string, number> = typeof vocabJson === 'string' ? JSON.parse(vocabJson) : { ...vocabJson };
  const merges: Merge[] = [];
  for (const line of mergesTxt.split(/\r?\n/)) {
    if (line.length === 0 || line.startsWith('#version')) continue;
    const parts = line.split(' ');
    if (parts.length !== 2) throw new Error(`merges.txt: malformed line ${JSON.stringify(line)}`);
    merges.push([parts[0], parts[1]]);
  }
  return clipTokenizerJson(vocab, merges, false);
}

function clipTokenizerJson(vocab: Record<string, number>, merges: Merge[], appendSpecials: boolean): ClipTokenizerJson {
  const fullVocab = { ...vocab };
  if (appendSpecials) {
    let next = Object.keys(fullVocab).length;
    for (const special of [BOS_TOKEN, EOS_TOKEN]) if (!(special in fullVocab)) fullVocab[special] = next++;
  }
  for (const special of [BOS_TOKEN, EOS_TOKEN]) {
    if (!(special in fullVocab)) throw new Error(`vocab is missing the special token ${special}`);
  }
  const bosId = fullVocab[BOS_TOKEN];
  const eosId = fullVocab[EOS_TOKEN];
  const specialToken = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [specialToken(bosId, BOS_TOKEN), specialToken(eosId, EOS_TOKEN)],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_SPLIT_PATTERN }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [EOS_TOKEN, eosId],
      cls: [BOS_TOKEN, bosId],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: EOS_TOKEN,
      continuing_subword_prefix: '',
      end_of_word_suffix: END_OF_WORD,
      fuse_unk: false,
      byte_fallback: false,
      vocab: fullVocab,
      merges: merges.map(([left, right]) => mergeKey(left, right)),
    },
  };
}

/** The inverse of `tokenizerFromVocabMerges`: CLIP's `vocab.json` and `merges.txt` texts. */
export function vocabMergesFromTokenizerJson(json: ClipTokenizerJson): { vocabJson: string; mergesTxt: string } {
  return {
    vocabJson: JSON.stringify(json.model.vocab),
    mergesTxt: ['#version: 0.2', ...json.model.merges].join('\n') + '\n',
  };
}
