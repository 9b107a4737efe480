// Why a checkpoint is refused. Each message says what the file is and what to use instead;
// the CLI prints it as is and nothing is left in --out.
import { PackInputError } from '../packer/errors';

export type CheckpointRefusal =
  /** .ckpt/.pt/.bin in PyTorch's pickle (or zip-of-pickle) format: never unpickled */
  | 'pickle'
  /** not a safetensors file at all */
  | 'not-safetensors'
  /** the file ends before what its header promises */
  | 'truncated'
  /** the header is malformed */
  | 'corrupt'
  | 'sd2'
  | 'sdxl'
  | 'inpainting'
  | 'v-prediction'
  /** a LoRA (kohya / PEFT / LyCORIS) given where a full model belongs */
  | 'lora'
  /** keys or shapes that are not SD1.x's */
  | 'not-sd1'
  /** a part of the model (UNet, VAE, text encoder) is absent */
  | 'missing-part'
  /** a noise schedule that is neither scaled-linear nor linear */
  | 'schedule';

export class CheckpointError extends PackInputError {
  constructor(readonly reason: CheckpointRefusal, message: string) {
    super('checkpoint', message);
    this.name = 'CheckpointError';
  }
}
