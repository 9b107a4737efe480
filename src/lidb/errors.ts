// Typed errors for the LiDB file, the pack's aux file and imported LoRAs. A safetensors-level
// problem keeps its SafetensorsError code, so one `code` tells the UI what to say.
import { SafetensorsError, type SafetensorsErrorCode } from '../safetensors/errors';

export type LidbFileErrorCode =
  | SafetensorsErrorCode
  | 'wrong-format' // not a hyperbooth-lidb/1 (or aux) file
  | 'wrong-pack' // made for another model pack
  | 'aux-mismatch' // same pack id, different aux bases (sha256 differs)
  | 'missing-layer'
  | 'extra-layer'
  | 'non-finite';

export class LidbFileError extends Error {
  readonly code: LidbFileErrorCode;
  constructor(code: LidbFileErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LidbFileError';
    this.code = code;
  }
}

export type LoraFileErrorCode =
  | SafetensorsErrorCode
  | 'unknown-layer' // attention projections this model does not have (a LoRA for another model)
  | 'shape-mismatch' // a known layer with other n_in/n_out (e.g. SD2 or SDXL widths)
  | 'rank-mismatch' // lora_down and lora_up disagree on the rank
  | 'missing-tensor' // a down without its up, or the reverse
  | 'duplicate-layer' // the same layer given twice (e.g. in both kohya and PEFT naming)
  | 'non-finite'
  | 'no-known-layers'; // nothing in the file applies to this model

export class LoraFileError extends Error {
  readonly code: LoraFileErrorCode;
  constructor(code: LoraFileErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LoraFileError';
    this.code = code;
  }
}

/** Runs a safetensors read, re-raising its errors as `wrap`'s type with the same code. */
export function rethrowSafetensors<T>(what: string, wrap: (code: SafetensorsErrorCode, msg: string, cause: unknown) => Error, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SafetensorsError) throw wrap(e.code, `${what}: ${e.message}`, e);
    throw e;
  }
}
