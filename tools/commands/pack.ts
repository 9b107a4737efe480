// `hyperbooth pack --from <input> --out public/models/<id> [...]`: converts Stable Diffusion 1.5
// into a HyperBooth model pack and lists it in the index.json beside it. The input is a
// single-file .safetensors checkpoint or a diffusers folder of safetensors (src/checkpoint), or
// an ONNX export in the diffusers or optimum layout (src/packer); this parses flags and prints.
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs, UsageError } from '../args';
import { DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES, PackInputError, formatSummary, packExport, type PackOptions } from '../../src/packer';
import { updatePackIndex } from '../../src/packs/writePack';
import { isCheckpointInput, packCheckpoint } from '../../src/checkpoint/packCheckpoint';

export const summary = 'convert Stable Diffusion 1.5 (a .safetensors checkpoint, a diffusers folder or an ONNX export) into a model pack (--from PATH --out DIR [--fp16] [--image-size N] [--text-encoder-lora])';

const USAGE = `usage: hyperbooth pack --from <checkpoint | folder> --out <pack dir> [options]
  --from PATH           an SD1.x checkpoint in the original single-file layout (model.safetensors: F32, F16
                        or BF16), a diffusers folder of safetensors (unet/, vae/, text_encoder/, tokenizer/,
                        scheduler/), or a diffusers (unet/weights.pb) / optimum (model.onnx_data) ONNX export.
                        Pickle files (.ckpt/.pt/.bin) are refused unopened: they can run code when loaded
  --out DIR             the pack folder to write, e.g. public/models/sd15 (replaced if it exists)
  --id ID               pack id (default: the --out folder's name)
  --name NAME           display name (default: "Stable Diffusion (<export folder>)")
  --fp16                float16 weights; UNet, text encoder, VAE and the train graphs compute in float16
                        with float32 inputs/outputs, normalization statistics and loss (needs WebGPU
                        shader-f16)
  --text-encoder-lora   LoRA slots and a gradient graph on the text encoder too (SD1.5: 48 more layers)
  --recompute           the UNet train graph recomputes block activations in its backward pass
                        (less memory, a little more time; SD1.5 at 512 px on CPU: 13.8 → 10.3 GB);
                        default from 256 px up; --no-recompute keeps every activation
  --hypernet FILE       a hypernetwork .onnx (contract in src/models/hypernet.ts) to check and copy in
  --hypernet-steps N    its refinement steps, for the manifest (default 4)
  --chunk-mb N          largest external-data file in MiB (default ${DEFAULT_CHUNK_BYTES / 2 ** 20}, at most ${MAX_CHUNK_BYTES / 2 ** 20})
  --attention-chunk-mib N  split UNet attention whose scores at CFG batch 2 exceed N MiB over query blocks (default 64)
  --image-size N        image side in pixels (checkpoints: default 512; ONNX exports: when the export does not
                        fix it, default unet/config.json, or 512 for SD1.5)
  --trigger WORD        the subject's rare token (default sks)
  --aux-seed N          seed of the LiDB aux bases (default 2307)
  --index FILE          index.json to list the pack in (default: index.json beside --out); --no-index to skip`;

function numberFlag(v: string | true | undefined, name: string, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' ? Number(v) : NaN;
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UsageError(`--${name} needs a positive ${integer ? 'integer' : 'number'}, got ${v === true ? 'nothing' : v}`);
  return n;
}

/** One line per stage and every 10% of its bytes, on stderr. */
function progressPrinter(): (p: { stage: string; done: number; total: number }) => void {
  let last = '';
  return ({ stage, done, total }) => {
    const tenth = total ? Math.floor((10 * done) / total) : 0;
    const key = `${stage}:${tenth}`;
    if (key === last || stage === 'done') return;
    last = key;
    console.error(total > 1 ? `  ${stage}: ${Math.round((100 * done) / total)}% of ${(total / 2 ** 20).toFixed(1)} MiB` : `  ${stage}…`);
  };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['fp16', 'text-encoder-lora', 'recompute', 'no-recompute', 'no-index', 'help']);
  if (args.flags.help) { console.log(USAGE); return 0; }
  let opts: PackOptions;
  try {
    const known = new Set(['from', 'out', 'id', 'name', 'fp16', 'text-encoder-lora', 'recompute', 'no-recompute', 'hypernet', 'hypernet-steps', 'chunk-mb', 'attention-chunk-mib', 'image-size', 'trigger', 'aux-seed', 'index', 'no-index', 'help']);
    const unknown = Object.keys(args.flags).filter((k) => !known.has(k));
    if (unknown.length) throw new UsageError(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `--${k}`).join(', ')}`);
    if (args.positional.length) throw new UsageError(`unexpected arguments: ${args.positional.join(' ')}`);
    const str = (k: string) => {
      const v = args.flags[k];
      if (v === true) throw new UsageError(`--${k} needs a value`);
      return v;
    };
    const from = str('from');
    const out = str('out');
    if (!from) throw new UsageError('missing --from <export dir>');
    if (!out) throw new UsageError('missing --out <pack dir>');
    const chunkMb = numberFlag(args.flags['chunk-mb'], 'chunk-mb', false);
    const attentionMib = numberFlag(args.flags['attention-chunk-mib'], 'attention-chunk-mib', false);
    const auxSeed = args.flags['aux-seed'] === '0' ? 0 : numberFlag(args.flags['aux-seed'], 'aux-seed', true);
    opts = {
      from,
      out,
      fp16: !!args.flags.fp16,
      textEncoderLora: !!args.flags['text-encoder-lora'],
      ...(args.flags.recompute || args.flags['no-recompute'] ? { recompute: !!args.flags.recompute } : {}),
      log: (line) => console.error(line),
      ...(str('id') ? { id: str('id') as string } : {}),
      ...(str('name') ? { name: str('name') as string } : {}),
      ...(str('hypernet') ? { hypernet: str('hypernet') as string } : {}),
      ...(str('trigger') ? { trigger: str('trigger') as string } : {}),
      ...(chunkMb !== undefined ? { chunkBytes: Math.floor(chunkMb * 2 ** 20) } : {}),
      ...(attentionMib !== undefined ? { attentionChunkBytes: Math.floor(attentionMib * 2 ** 20) } : {}),
      ...(auxSeed !== undefined ? { auxSeed } : {}),
    };
    const imageSize = numberFlag(args.flags['image-size'], 'image-size', true);
    if (imageSize !== undefined) opts.imageSize = imageSize;
    const steps = numberFlag(args.flags['hypernet-steps'], 'hypernet-steps', true);
    if (steps !== undefined) opts.hypernetRefinementSteps = steps;
  } catch (e) {
    if (e instanceof UsageError) { console.error(`hyperbooth pack: ${e.message}\n\n${USAGE}`); return 2; }
    throw e;
  }

  try {
    const result = isCheckpointInput(opts.from) ? await packCheckpoint({ ...opts, onProgress: progressPrinter() }) : await packExport(opts);
    console.log(formatSummary(result));
    if (!args.flags['no-index']) {
      const index = typeof args.flags.index === 'string' ? resolve(args.flags.index) : join(dirname(result.dir), 'index.json');
      const rel = relative(dirname(index), join(result.dir, 'manifest.json'));
      if (rel.startsWith('..')) throw new PackInputError('options', `--out ${result.dir} is not inside the index's folder ${dirname(index)} (give --index or --no-index)`);
      updatePackIndex(index, { id: result.manifest.id, path: rel.split(sep).join('/'), name: result.manifest.name, size: result.totalBytes });
      console.log(`listed in ${index}`);
    }
    return 0;
  } catch (e) {
    if (e instanceof PackInputError) { console.error(`hyperbooth pack: ${e.message}`); return 1; }
    throw e;
  }
}
