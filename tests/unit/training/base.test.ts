// `train base` on the committed tiny pack and a 3-identity shard, with onnxruntime-node: the
// loss falls, a checkpoint resumes to the same weights bit for bit, and the trained pack loads.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { runBase } from '../../../src/training/runBase';
import { latestCheckpointPath, loadCheckpoint } from '../../../src/training/checkpoint';
import { loadPackFromDisk } from '../../../src/packs/node';
import { readPackGraph } from '../../../src/training/packGraphs';
import { readTensorProto } from '../../../src/onnx';
import { measureLatentScale } from '../../../src/training/latentScale';
import { openShard } from '../../../src/training/data';
import { logLosses, mean, tempDir, tinyShard, randomTinyPack } from './helpers';

const runtime = createNodeRuntime({ backend: 'cpu' });

describe('train base', () => {
  it('lowers the loss, resumes bit for bit, and writes a loadable trained pack', async () => {
    const data = tinyShard();
    const straight = tempDir('base-straight');
    const common = { pack: randomTinyPack(), data, steps: 4, lr: 2e-3, seed: 3, checkpointEvery: 2 };
    const r = await runBase(runtime, { ...common, out: straight });
    expect(r.step).toBe(4);
    const log = logLosses(straight);
    expect(log.map((l) => l.step)).toEqual([1, 2, 3, 4]);
    expect(mean(log.slice(2).map((l) => l.loss))).toBeLessThan(mean(log.slice(0, 2).map((l) => l.loss)));
    expect(mean(log.slice(2).map((l) => l.reconstruction))).toBeLessThan(mean(log.slice(0, 2).map((l) => l.reconstruction)));

    // 2 steps, then a second process-like run picks up the checkpoint and finishes
    const split = tempDir('base-split');
    await runBase(runtime, { ...common, steps: 2, out: split });
    await expect(runBase(runtime, { ...common, out: split })).rejects.toThrow(/--resume/);
    const resumed = await runBase(runtime, { ...common, out: split, resume: true });
    expect(resumed.startStep).toBe(2);
    const a = loadCheckpoint(latestCheckpointPath(join(straight, 'checkpoints'))!);
    const b = loadCheckpoint(latestCheckpointPath(join(split, 'checkpoints'))!);
    expect(b.step).toBe(4);
    expect(Object.keys(b.params)).toEqual(Object.keys(a.params));
    for (const [name, p] of Object.entries(a.params)) {
      expect(Buffer.from(b.params[name].buffer).equals(Buffer.from(p.buffer)), name).toBe(true);
      expect(Buffer.from(b.adam.m[name].buffer).equals(Buffer.from(a.adam.m[name].buffer)), name).toBe(true);
    }
    expect(b.rng).toEqual(a.rng);
    expect(logLosses(split)).toEqual(log.map((l) => ({ ...l, ms: expect.any(Number) })));

    // the trained pack: hashes verify, the decoder carries the checkpoint's weights
    expect(existsSync(join(r.packDir, 'manifest.json'))).toBe(true);
    const trained = await loadPackFromDisk(r.packDir);
    const original = await loadPackFromDisk(randomTinyPack());
    const name = Object.keys(a.params).find((k) => k.startsWith('vaeDecoder/') && k.endsWith('.weight'))!.slice('vaeDecoder/'.length);
    const w = (p: typeof trained) => readTensorProto(readPackGraph(p, p.manifest.models.vaeDecoder).graph!.initializer!.find((t) => t.name === name)!).data as Float32Array;
    expect(Array.from(w(trained))).toEqual(Array.from(a.params[`vaeDecoder/${name}`]));
    expect(Array.from(w(trained))).not.toEqual(Array.from(w(original)));
    expect(trained.manifest.notice).toMatch(/trained only on HyperBooth's synthetic 64×64 portraits.*hyperbooth pack/);
    expect(original.manifest.notice).toBeUndefined();
    const unetTrainBytes = trained.files(trained.manifest.train!.unet.file);
    expect(unetTrainBytes.length).toBeGreaterThan(0);
    expect(trained.manifest.files.find((f) => f.path === 'unet/weights.bin')!.sha256)
      .not.toBe(original.manifest.files.find((f) => f.path === 'unet/weights.bin')!.sha256);
  });
});

describe('train base --parts', () => {
  it('trains the VAE alone, then the UNet and text encoder on its latents at a measured latent scale', async () => {
    const data = tinyShard();
    const common = { data, steps: 2, lr: 2e-3, seed: 1, checkpointEvery: 2 };
    const vae = await runBase(runtime, { ...common, pack: randomTinyPack(), out: tempDir('base-vae'), parts: ['vae'] });
    const vaeCkpt = loadCheckpoint(latestCheckpointPath(join(vae.packDir, '../checkpoints'))!);
    const graphsOf = (params: Record<string, unknown>) => [...new Set(Object.keys(params).map((k) => k.split('/')[0]))].sort();
    expect(graphsOf(vaeCkpt.params)).toEqual(['vaeDecoder', 'vaeEncoder']);
    const afterVae = await loadPackFromDisk(vae.packDir);
    const original = await loadPackFromDisk(randomTinyPack());
    const sha = (p: typeof original, path: string) => p.manifest.files.find((f) => f.path === path)!.sha256;
    expect(sha(afterVae, 'unet/weights.bin')).toBe(sha(original, 'unet/weights.bin'));
    expect(sha(afterVae, 'vae_decoder/model.onnx')).not.toBe(sha(original, 'vae_decoder/model.onnx'));
    expect(afterVae.manifest.latent.scale).toBe(original.manifest.latent.scale);

    const scale = await measureLatentScale(runtime, afterVae, openShard(data, 'train', afterVae.manifest));
    expect(scale).toBeGreaterThan(0);
    expect(scale).not.toBe(original.manifest.latent.scale);
    const unet = await runBase(runtime, { ...common, pack: vae.packDir, out: tempDir('base-unet'), parts: ['unet'], latentScale: 'auto' });
    expect(unet.latentScale).toBe(scale);
    const unetCkpt = loadCheckpoint(latestCheckpointPath(join(unet.packDir, '../checkpoints'))!);
    expect(graphsOf(unetCkpt.params)).toEqual(['textEncoder', 'unet']);
    expect(unetCkpt.config).toMatchObject({ parts: ['unet'], latentScale: scale });
    const afterUnet = await loadPackFromDisk(unet.packDir);
    expect(afterUnet.manifest.latent.scale).toBe(scale);
    // two stages, one name; the steps of each stage are in the description
    expect(afterUnet.manifest.name).toBe('Tiny (trained on synthetic portraits)');
    expect(afterUnet.manifest.description).toBe("Miniature of SD1.5's architecture; VAE trained 2 steps on synthetic portraits; UNet and text encoder trained 2 steps on synthetic portraits");
    expect(sha(afterUnet, 'vae_decoder/model.onnx')).toBe(sha(afterVae, 'vae_decoder/model.onnx'));
    expect(sha(afterUnet, 'unet/weights.bin')).not.toBe(sha(afterVae, 'unet/weights.bin'));
    expect(logLosses(join(unet.packDir, '..')).every((l) => l.reconstruction === 0 && l.denoising > 0)).toBe(true);
  });
});

describe('train base --parts decoder', () => {
  it('sharpens the decoder alone on frozen latents, with a cosine decay, and writes it onto a finished pack', async () => {
    const data = tinyShard();
    const common = { data, steps: 3, lr: 2e-3, seed: 2, checkpointEvery: 3 };
    const vae = await runBase(runtime, { ...common, steps: 2, pack: randomTinyPack(), out: tempDir('dec-vae'), parts: ['vae'] });
    const unet = await runBase(runtime, { ...common, steps: 1, pack: vae.packDir, out: tempDir('dec-unet'), parts: ['unet'], latentScale: 'auto' });
    const out = tempDir('dec-dec');
    const dec = await runBase(runtime, { ...common, pack: vae.packDir, out, parts: ['decoder'], decaySteps: 3 });
    const ckpt = loadCheckpoint(latestCheckpointPath(join(out, 'checkpoints'))!);
    expect(Object.keys(ckpt.params).every((k) => k.startsWith('vaeDecoder/'))).toBe(true);
    expect(ckpt.config).toMatchObject({ parts: ['decoder'], decaySteps: 3 });
    const log = logLosses(out);
    expect(log.every((l) => l.reconstruction > 0 && l.kl === 0 && l.denoising === 0)).toBe(true);
    const sha = (p: Awaited<ReturnType<typeof loadPackFromDisk>>, path: string) => p.manifest.files.find((f) => f.path === path)!.sha256;
    const [afterVae, afterUnet, afterDec] = await Promise.all([vae.packDir, unet.packDir, dec.packDir].map((d) => loadPackFromDisk(d)));
    expect(sha(afterDec, 'vae_encoder/model.onnx')).toBe(sha(afterVae, 'vae_encoder/model.onnx'));
    expect(sha(afterDec, 'vae_decoder/model.onnx')).not.toBe(sha(afterVae, 'vae_decoder/model.onnx'));

    // the same run resumed with --onto: nothing trains, the decoder lands on the UNet-stage pack
    const onto = await runBase(runtime, { ...common, pack: vae.packDir, out, parts: ['decoder'], decaySteps: 3, resume: true, onto: unet.packDir });
    expect(onto.startStep).toBe(3);
    const final = await loadPackFromDisk(onto.packDir);
    expect(sha(final, 'vae_decoder/model.onnx')).toBe(sha(afterDec, 'vae_decoder/model.onnx'));
    for (const path of ['unet/weights.bin', 'vae_encoder/model.onnx', 'text_encoder/model.onnx']) expect(sha(final, path), path).toBe(sha(afterUnet, path));
    expect(final.manifest.latent.scale).toBe(afterUnet.manifest.latent.scale);
    expect(final.manifest.description).toMatch(/UNet and text encoder trained 1 steps on synthetic portraits; VAE decoder fine-tuned 3 steps/);

    // a constant-rate run differs from the decayed one after its first step; a changed schedule refuses to resume
    const flat = tempDir('dec-flat');
    await runBase(runtime, { ...common, pack: vae.packDir, out: flat, parts: ['decoder'] });
    const flatLog = logLosses(flat);
    expect(flatLog[0].loss).toBe(log[0].loss);
    expect(flatLog[2].loss).not.toBe(log[2].loss);
    await expect(runBase(runtime, { ...common, steps: 4, pack: vae.packDir, out, parts: ['decoder'], resume: true })).rejects.toThrow(/other settings/);

    await expect(runBase(runtime, { ...common, pack: vae.packDir, out: tempDir('dec-bad1'), parts: ['vae', 'decoder'] })).rejects.toThrow(/overlap/);
    await expect(runBase(runtime, { ...common, pack: vae.packDir, out: tempDir('dec-bad2'), parts: ['unet'], onto: unet.packDir })).rejects.toThrow(/--parts decoder only/);
    await expect(runBase(runtime, { ...common, pack: vae.packDir, out: tempDir('dec-bad3'), parts: ['decoder'], onto: randomTinyPack() })).rejects.toThrow(/VAE encoder differs/);
    await expect(runBase(runtime, { ...common, pack: vae.packDir, out: tempDir('dec-bad4'), parts: ['decoder'], decaySteps: 0 })).rejects.toThrow(/--decay-steps/);
  });
});
