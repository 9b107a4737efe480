// `hyperbooth vae-psnr --pack DIR --data SHARD_DIR`: the pack VAE's reconstruction PSNR on a
// shard's records (src/training/reconstruction.ts); --json appends one line per call, so a
// training driver can build a curve.
import { appendFileSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, requireFlag } from '../args';
import { createNodeRuntime } from '../../src/runtime/nodeRuntime';
import { loadPackFromDisk } from '../../src/packs/node';
import { openShard } from '../../src/training/data';
import { measureReconstruction, spreadRecords } from '../../src/training/reconstruction';
import { intFlag } from './train';
import { loadCheckpoint } from '../../src/training/checkpoint';
import { loadIdentityEmbedder } from '../../src/eval/embedder/embedder';
import { cosine } from '../../src/eval/scorers';
import { chwToRgba } from '../../src/pipeline/image';
import { DEFAULT_EMBEDDER } from './evalEmbedder';

export const summary = "the VAE's reconstruction PSNR, and the identity embedder's cosine of photo and reconstruction, on a shard (--pack DIR --data SHARD_DIR [--checkpoint FILE (a train base checkpoint's weights)] [--split heldout] [--records 256] [--embedder ONNX | --no-identity] [--threads 1] [--json FILE] [--label TEXT])";

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['no-identity']);
  const packDir = resolve(requireFlag(args, 'pack'));
  const data = resolve(requireFlag(args, 'data'));
  const split = typeof args.flags.split === 'string' ? args.flags.split : 'heldout';
  const count = intFlag(args, 'records', 256);
  const threads = intFlag(args, 'threads', 1);
  const pack = await loadPackFromDisk(packDir);
  const shard = openShard(data, split, pack.manifest);
  const records = spreadRecords(shard.index.records.length, count);
  const t0 = Date.now();
  const ckptPath = typeof args.flags.checkpoint === 'string' ? resolve(args.flags.checkpoint) : undefined;
  const ckpt = ckptPath ? loadCheckpoint(ckptPath) : undefined;
  if (ckpt && ckpt.stage !== 'base') throw new Error(`${ckptPath} is a '${ckpt.stage}' checkpoint; --checkpoint takes one of train base`);
  const runtime = createNodeRuntime({ backend: 'cpu', intraOpNumThreads: threads });
  const embedderPath = args.flags['no-identity'] ? undefined : resolve(typeof args.flags.embedder === 'string' ? args.flags.embedder : DEFAULT_EMBEDDER);
  const embedder = embedderPath ? await loadIdentityEmbedder(runtime, new Uint8Array(readFileSync(embedderPath))) : undefined;
  const { width: S, height: H } = pack.manifest.image;
  const asImage = (chw: Float32Array) => { const im = chwToRgba(chw, 3, H, S); return { width: im.width, height: im.height, data: im.rgba }; };
  const identity = embedder && (async (photo: Float32Array, made: Float32Array) => {
    const [a, b] = await embedder.embed([asImage(photo), asImage(made)]);
    return cosine(a, b);
  });
  const score = await measureReconstruction(runtime, pack, shard, records, ckpt?.params, identity).finally(() => embedder?.release());
  const label = typeof args.flags.label === 'string' ? args.flags.label : ckpt ? String(ckpt.step) : undefined;
  const line = { label, pack: packDir, checkpoint: ckptPath, step: ckpt?.step, split, embedder: embedderPath, ...score, ms: Date.now() - t0 };
  const idText = score.identity === undefined ? '' : `, identity cosine photo ↔ reconstruction ${score.identity.toFixed(3)}`;
  console.log(`${split}: ${score.records} records, MSE ${score.mse.toFixed(5)}, PSNR ${score.psnr.toFixed(2)} dB (of the mean MSE ${score.psnrOfMeanMse.toFixed(2)} dB)${idText}`);
  console.log(`  by style: ${Object.entries(score.byStyle).map(([s, v]) => `${s} ${v.psnr.toFixed(2)}${v.identity === undefined ? '' : ` (${v.identity.toFixed(3)})`}`).join(', ')} (dB${score.identity === undefined ? '' : ' (identity cosine)'})`);
  if (typeof args.flags.json === 'string') appendFileSync(resolve(args.flags.json), `${JSON.stringify(line)}\n`);
  return 0;
}
