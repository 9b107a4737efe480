// A pack converted from a checkpoint works in the app's pipeline (Node runtime, no mocks):
// generate() draws, the fine-tune's train graphs (UNet + text encoder with --text-encoder-lora)
// give finite, non-zero gradients; --fp16 stores float16 weights and still matches torch
// to float16 precision; and the CLI converts and refuses with the right exit codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { loadPackFromDisk } from '../../../src/packs/node';
import { createPipeline } from '../../../src/pipeline/pipeline';
import { zeroLoraFeeds } from '../../../src/pipeline/lora';
import { SeededRandom } from '../../../src/diffusion/random';
import { drawNoise } from '../../../src/finetune/draws';
import { trainStep } from '../../../src/finetune/trainStep';
import { openFineTuneGraphs } from '../../../src/finetune/fineTuneGraphs';
import { initLidb } from '../../../src/lidb/lidb';
import { LidbRng } from '../../../src/lidb/random';
import { readSafetensors, toFloat32 } from '../../../src/safetensors';
import type { PackResult } from '../../../src/packer';
import { float32, maxAbsDiff, removeTempDirs, runFile, tempDir } from '../packer/helpers';
import { F16_FILE, packMini, reference } from './helpers';

const runtime = createNodeRuntime({ backend: 'cpu' });
let pack: PackResult;
beforeAll(async () => { pack = await packMini(F16_FILE, { textEncoderLora: true }); }, 60_000);
afterAll(removeTempDirs);

describe('a pack from a checkpoint in the pipeline', () => {
  it('generate() makes a 16×16 image, the same for the same seed', async () => {
    const pipeline = await createPipeline(runtime, await loadPackFromDisk(pack.dir));
    try {
      const request = { prompts: ['a photo of sks person'], seed: 3, steps: 2, guidance: 7.5, scheduler: 'ddim' as const };
      const [img] = await pipeline.generate(request);
      expect([img.width, img.height]).toEqual([16, 16]);
      expect(new Set(img.rgba.filter((_, i) => i % 4 === 0)).size).toBeGreaterThan(20);
      const [again] = await pipeline.generate(request);
      expect(Buffer.from(again.rgba).equals(Buffer.from(img.rgba))).toBe(true);
    } finally {
      await pipeline.release();
    }
  });

  it('one fine-tune step through the UNet and text-encoder train graphs: finite loss, gradients for all 40 layers', async () => {
    const loaded = await loadPackFromDisk(pack.dir);
    const layers = loaded.manifest.lora.layers;
    expect(layers.filter((l) => l.target === 'text_encoder')).toHaveLength(8);
    const graphs = openFineTuneGraphs(runtime, loaded);
    try {
      const lidb = initLidb(layers, 2, new LidbRng(5, 'init'));
      for (const w of lidb.layers.values()) for (let i = 0; i < w.uTrain.length; i++) w.uTrain[i] = 0.01 * Math.sin(i + 1);
      const rng = new SeededRandom(4);
      const latent = rng.randn(4 * 8 * 8);
      const step = await trainStep(await graphs.train(), graphs.context(latent), lidb, drawNoise(new SeededRandom(9), 1000, latent.length));
      expect(Number.isFinite(step.loss) && step.loss > 0).toBe(true);
      expect(step.grads.size).toBe(40);
      for (const [name, g] of step.grads) {
        expect(g.dTrain.every(Number.isFinite) && g.uTrain.every(Number.isFinite), name).toBe(true);
        expect(g.dTrain.some((v) => v !== 0), name).toBe(true);
      }
    } finally {
      await graphs.release();
    }
  });

  it('--fp16: float16 weights in the chunks, UNet and VAE decoder within float16 precision of torch', async () => {
    const r = await packMini(F16_FILE, { fp16: true, id: 'mini-fp16' });
    expect(r.manifest.conversion).toMatchObject({ weights: 'float16', compute: 'float16' });
    expect(r.totalBytes).toBeLessThan(pack.totalBytes);
    const ref = reference();
    const v = (n: string) => toFloat32(ref.tensors.get(n)!);
    const shape = (n: string) => ref.tensors.get(n)!.shape;
    const unet = await runFile(join(r.dir, r.manifest.models.unet.file), {
      sample: float32(v('in.sample'), shape('in.sample')), timestep: float32(v('in.timestep'), [1]),
      encoder_hidden_states: float32(v('in.context'), shape('in.context')), ...zeroLoraFeeds(r.manifest.lora.layers, 'unet'),
    }, 'out_sample');
    expect(maxAbsDiff(unet, v('out.unet.out_sample'))).toBeLessThan(1e-2);
    const decoded = await runFile(join(r.dir, r.manifest.models.vaeDecoder.file), { latent_sample: float32(v('in.latent'), shape('in.latent')) }, 'sample');
    expect(maxAbsDiff(decoded, v('out.vae.decoded'))).toBeLessThan(3e-2);
    const aux = readSafetensors(new Uint8Array(readFileSync(join(r.dir, r.manifest.lidb!.aux))));
    expect(new Set([...aux.tensors.values()].map((t) => t.dtype))).toEqual(new Set(['F16']));
  });
});

describe('hyperbooth pack --from <checkpoint> (the CLI)', () => {
  const cli = (args: string[]) => promisify(execFile)('npx', ['tsx', 'tools/cli.ts', 'pack', ...args], { cwd: join(__dirname, '..', '..', '..') })
    .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));

  it('converts a .safetensors file, prints the summary and lists the pack', async () => {
    const root = tempDir('cli');
    const r = await cli(['--from', F16_FILE, '--out', join(root, 'mini'), '--image-size', '16']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/schedule: read from betas/);
    expect(r.stdout).toMatch(/image 16×16, latent 4×8×8/);
    expect(JSON.parse(readFileSync(join(root, 'index.json'), 'utf8')).packs.map((p: { id: string }) => p.id)).toContain('mini');
  }, 60_000);

  it('refuses a pickle with exit code 1 and the reason, writing nothing', async () => {
    const root = tempDir('cli');
    const ckpt = join(root, 'model.ckpt');
    writeFileSync(ckpt, new Uint8Array([0x80, 0x02, 0x7d, 0x71]));
    const r = await cli(['--from', ckpt, '--out', join(root, 'out')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/hyperbooth pack: model\.ckpt is a PyTorch pickle file/);
    expect(existsSync(join(root, 'out'))).toBe(false);
  }, 60_000);
});
