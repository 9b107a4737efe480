// `hyperbooth dataset …`: renders the synthetic identity world to training shards, or one
// synthetic selfie for the app demo.
import { mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../../src/files/atomicWrite';
import { dirname, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import { intFlag, parseArgs, requireFlag, UsageError, type ParsedArgs } from '../args';
import {
  caption, DEFAULT_IMAGE_SIZE, encodePng, identitySeed, isSplit, isStyle, photoSeed, renderStyled, sampleIdentity, SPLITS, STYLES,
  type Split, type Style,
} from '../../src/dataset';
import { writeShard } from '../../src/dataset/shardNode';

export const summary = 'synthetic portraits: dataset --out <dir> --split train|val|heldout --ids N --photos K [--styles a,b] [--png]; dataset selfie --id n --out f.png';

const USAGE = `usage: hyperbooth dataset --out <dir> --split ${SPLITS.join('|')} --ids <N> --photos <K>
                         [--styles <s1,s2,…>|all] [--size 64] [--seed <S>] [--start <I>] [--png]
       hyperbooth dataset selfie --id <n> [--split heldout] --out <selfie.png> [--size 256] [--seed <S>]
                         [--photo <k>] [--style photo]
  Writes <dir>/<split>.bin (N·K·styles images, RGB uint8, NHWC) and <dir>/<split>.json (identity
  parameters, photo seeds, styles, captions); --png also writes every image to <dir>/<split>-png/.
  --seed picks the world (0…262143): identities are split-tagged, so train, val and heldout never
  share one. --start offsets the identity index, so processes can write slices of one split.
  styles: ${STYLES.join(', ')} (default: photo)`;

function splitFlag(args: ParsedArgs, fallback?: Split): Split {
  const v = args.flags.split ?? fallback;
  if (v === undefined) throw new UsageError(`missing --split ${SPLITS.join('|')}`);
  if (v === true || !isSplit(v)) throw new UsageError(`--split must be one of ${SPLITS.join(', ')}`);
  return v;
}

function stylesFlag(args: ParsedArgs): Style[] {
  const v = args.flags.styles;
  if (v === undefined) return ['photo'];
  if (v === true) throw new UsageError('--styles needs a comma-separated list or "all"');
  if (v === 'all') return [...STYLES];
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) if (!isStyle(s)) throw new UsageError(`unknown style '${s}' (styles: ${STYLES.join(', ')})`);
  return list as Style[];
}

function runSelfie(args: ParsedArgs): number {
  const split = splitFlag(args, 'heldout');
  const id = intFlag(args, 'id');
  const size = intFlag(args, 'size', 256);
  const world = intFlag(args, 'seed', 0);
  const photo = intFlag(args, 'photo', 0);
  const styleName = typeof args.flags.style === 'string' ? args.flags.style : 'photo';
  if (!isStyle(styleName)) throw new UsageError(`unknown style '${styleName}'`);
  const out = resolve(requireFlag(args, 'out'));
  const identity = sampleIdentity(identitySeed(split, id, world));
  const img = renderStyled(identity, styleName, photoSeed(identity.seed, photo), size);
  mkdirSync(dirname(out), { recursive: true });
  writeFileAtomic(out, encodePng(img, { rgb: true, deflate: (b) => deflateSync(b) }));
  console.log(`${out}: ${split} identity ${id} (world ${world}), photo ${photo}, ${size}×${size}: "${caption(identity, styleName)}"`);
  return 0;
}

function runShard(args: ParsedArgs): number {
  const out = resolve(requireFlag(args, 'out'));
  const spec = {
    split: splitFlag(args), ids: intFlag(args, 'ids'), photos: intFlag(args, 'photos'), styles: stylesFlag(args),
    size: intFlag(args, 'size', DEFAULT_IMAGE_SIZE), worldSeed: intFlag(args, 'seed', 0), start: intFlag(args, 'start', 0),
  };
  const t0 = Date.now();
  let lastReport = 0;
  const written = writeShard(out, spec, {
    png: args.flags.png === true,
    onProgress: (done, total) => {
      const now = Date.now();
      if (done === total || now - lastReport > 1000) {
        lastReport = now;
        const rate = done / Math.max(1e-3, (now - t0) / 1000);
        process.stderr.write(`\r${done}/${total} images, ${rate.toFixed(0)}/s   `);
      }
    },
  });
  process.stderr.write('\n');
  const { index } = written;
  console.log(`${written.binPath}: ${index.records.length} images of ${index.size}×${index.size} (${index.identities.length} ${index.split} identities × ${index.photosPerIdentity} photos × ${index.styles.length} styles), ${(index.byteLength / 1048576).toFixed(1)} MiB`);
  console.log(`${written.indexPath}: index (sha256 ${index.sha256?.slice(0, 16)}…)`);
  if (written.pngDir) console.log(`${written.pngDir}: ${index.records.length} PNGs`);
  console.log(`took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === '--help' || first === '-h') {
      console.log(USAGE);
      return 0;
    }
    if (first === 'selfie') return runSelfie(parseArgs(rest, ['help']));
    const args = parseArgs(argv, ['png', 'help']);
    if (args.flags.help) {
      console.log(USAGE);
      return 0;
    }
    if (args.positional.length > 0) throw new UsageError(`unexpected argument '${args.positional[0]}'`);
    return runShard(args);
  } catch (e) {
    if (e instanceof UsageError || e instanceof RangeError || (e as Error).message.startsWith('missing --')) {
      console.error(`hyperbooth dataset: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}
