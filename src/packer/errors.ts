// What `hyperbooth pack` refuses and why. Every refusal names the file or part at fault and,
// where there is one, the export that works instead; the CLI prints the message as is.

export type PackErrorKind =
  /** a folder or file of the export is absent */
  | 'missing-part'
  /** ORT/Olive-optimized graph: contrib ops, fused or packed attention projections */
  | 'optimized-export'
  /** graph inputs/outputs are not the ones the pipeline feeds and reads */
  | 'io'
  /** LoRA layer count does not match SD1.5 although the dimensions are SD1.5's */
  | 'layer-count'
  /** the --hypernet graph breaks the I/O contract of src/models/hypernet.ts */
  | 'hypernet'
  /** an external-data entry points outside the export, or at bytes its file does not have */
  | 'external-data'
  /** the options contradict each other or the export */
  | 'options'
  /** a .safetensors checkpoint or diffusers folder is refused (src/checkpoint/errors.ts says why) */
  | 'checkpoint';

export class PackInputError extends Error {
  constructor(readonly kind: PackErrorKind, message: string) {
    super(message);
    this.name = 'PackInputError';
  }
}
