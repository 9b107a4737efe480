// `hyperbooth make-tiny-pack --out public/models/tiny`: writes the random-weight SD1.5-architecture
// pack and lists it in the folder above's index.json.
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs, requireFlag } from '../args';
import { buildTinyPack, TINY_SEED, type TinyArchitecture } from '../../src/models';
import { packSize, updatePackIndex, writePack } from '../../src/packs/writePack';

export const summary = 'write the tiny random-weight SD1.5-architecture model pack (--out DIR [--seed N] [--image-size 64] [--vae-blocks 16,32,32,32] [--latent-channels 4] [--index FILE | --no-index])';

function positiveInt(name: string, v: string | true | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/** --image-size, --vae-blocks and --latent-channels: the base model's scale (TinyArchitecture). */
export function architectureFlags(flags: Record<string, string | true | undefined>): TinyArchitecture {
  const blocks = flags['vae-blocks'];
  if (blocks === true) throw new Error('--vae-blocks needs a comma list of channel counts, e.g. 16,32,32');
  return {
    imageSize: positiveInt('image-size', flags['image-size']),
    vaeBlocks: blocks === undefined ? undefined : blocks.split(',').map((c) => positiveInt('vae-blocks', c.trim())!),
    latentChannels: positiveInt('latent-channels', flags['latent-channels']),
  };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['no-index']);
  const out = resolve(requireFlag(args, 'out'));
  const seedFlag = args.flags.seed;
  const seed = typeof seedFlag === 'string' ? Number(seedFlag) : TINY_SEED;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`--seed must be an integer in [0, 2^32), got ${seedFlag}`);

  const pack = buildTinyPack({ seed, ...architectureFlags(args.flags) });
  writePack(out, pack);
  const size = packSize(pack);
  if (!args.flags['no-index']) {
    const index = typeof args.flags.index === 'string' ? resolve(args.flags.index) : join(dirname(out), 'index.json');
    const rel = relative(dirname(index), join(out, 'manifest.json'));
    if (rel.startsWith('..')) throw new Error(`--out ${out} is not inside the index's folder ${dirname(index)}`);
    updatePackIndex(index, { id: pack.manifest.id, path: rel.split(sep).join('/'), name: pack.manifest.name, size });
    console.log(`listed in ${index}`);
  }

  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`pack "${pack.manifest.id}" (seed ${seed}) → ${out}`);
  for (const f of pack.manifest.files) console.log(`  ${f.path.padEnd(28)} ${kib(f.size).padStart(12)}  ${f.sha256.slice(0, 16)}`);
  const layers = pack.manifest.lora.layers;
  const count = (t: string) => layers.filter((l) => l.target === t).length;
  console.log(`  total ${kib(size)} with manifest.json; ${layers.length} LoRA layers (unet ${count('unet')}, text_encoder ${count('text_encoder')})`);
  const { lidb, hypernet } = pack.manifest;
  if (lidb) console.log(`  LiDB aux bases ${lidb.aux} (seed ${lidb.auxSeed}), rows a ≤ ${lidb.aMax}, b ≤ ${lidb.bMax}`);
  const { train } = pack.manifest;
  if (train) console.log(`  fine-tune graphs ${[train.unet, ...(train.textEncoder ? [train.textEncoder] : [])].map((g) => g.file).join(', ')} (sharing the weights files of the forward graphs); defaults ${JSON.stringify(train.defaults)}`);
  if (hypernet) console.log(`  hypernetwork ${hypernet.model.file}: ${hypernet.imageSize}×${hypernet.imageSize} crop → lidb_down [${layers.length}, ${lidb?.aMax}], lidb_up [${layers.length}, ${lidb?.bMax}], ${hypernet.refinementSteps} refinement steps`);
  return 0;
}
