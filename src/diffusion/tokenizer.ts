/**
 * CLIP text tokenizer for Stable Diffusion prompts, backed by
 * `@huggingface/tokenizers` for normalisation, pre-tokenisation and BPE.
 * Framing (BOS ... EOS, padding, truncation) is done here rather than by the
 * library's post-processor so that truncation always keeps the closing EOS.
 */

import { Tokenizer } from '@huggingface/tokenizers';
import { BOS_TOKEN, EOS_TOKEN } from './tokenizerBuild';

export const CLIP_MAX_LENGTH = 77;

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
    if (typeof json === 'string') json = JSON.parse(json);
    if (typeof json !== 'object' || json === null || !('model' in json)) {
      throw new Error('ClipTokenizer.fromJSON: expected a parsed tokenizer.json object');
    }
    return new ClipTokenizer(new Tokenizer(json, {}), options);
  }

  /** Prompt tokens without BOS/EOS, unbounded. */
  tokenize(text: string): number[] {
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
    if (id === undefined) throw new Error(`tokenizer.json has no token ${token}`);
    return id;
  }
}
