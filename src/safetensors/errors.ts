// Every way a safetensors file can be refused has its own code, so callers (the UI, the LiDB and
// LoRA loaders) can say precisely what is wrong instead of "could not load".

export type SafetensorsErrorCode =
  | 'truncated' // the file ends before what its header promises
  | 'header-too-large' // header length over the limit (or not a plausible u64)
  | 'bad-header' // not UTF-8, not JSON, not an object, a tensor entry of the wrong form
  | 'duplicate-key' // the JSON header names a key twice
  | 'bad-metadata' // __metadata__ is not an object of strings
  | 'bad-dtype' // unknown or unsupported dtype string
  | 'bad-shape' // shape not a list of non-negative integers, or disagrees with the byte length
  | 'bad-offsets' // offsets out of range, overlapping, unsorted with holes, or bytes left unindexed
  | 'bad-tensor'; // writer: data disagrees with the declared dtype/shape, or an unusable name

export class SafetensorsError extends Error {
  readonly code: SafetensorsErrorCode;
  constructor(code: SafetensorsErrorCode, message: string) {
    super(message);
    this.name = 'SafetensorsError';
    this.code = code;
  }
}
