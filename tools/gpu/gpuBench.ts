// Issue 12 item 7, our side: SD1.5 at full size on onnxruntime-node, WebGPU EP (Vulkan) on a lent
// GPU machine, or the CPU EP for a dry run here. Run through tools/gpu/run-gpu-bench.sh, which
// brings node, the Vulkan loaders and the PyTorch side (torch_gpu.py).
//
//   node gpuBench.mjs --ep webgpu --image-size 512 --steps 40 --gen-steps 25 --dtype float16 --work DIR [--reuse]
//
// Graphs: SD1.5's, as `hyperbooth pack --fp16` makes them (src/packer/sd15Shapes.ts: LoRA slots
// on the UNet's 128 and the text encoder's 48 projections, attention split over query blocks, the
// train-step graph recomputing its blocks from 256 px, float16 compute), random weights written
// to disk (no weights can be downloaded), and a ViT-B/14-sized hypernetwork for the 176 layers
// (the paper's is ViT-H: ours is smaller). Phases, each with only its own sessions open:
//   personalization: the hypernetwork once, then `steps` fine-tune steps at batch 1 (c from the
//     text-encoder gradient graph, the UNet train step, the text encoder's VJP, Adam on the
//     LoRA factors in JS), after one untimed warm-up step (shader compilation);
//   generation: the text encoder on 2 prompts, `gen-steps` UNet calls at CFG batch 2, the VAE
//     decoder, after one untimed UNet call.
// GPU memory: nvidia-smi samples (every 50 ms, with its own timestamps) taken by the caller's
// sampler, read back per phase from the phase times printed here. Prints one JSON line.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parseArgs } from '../args';
import { Adam } from '../../src/finetune/adam';
import { buildHypernet, type HypernetConfig } from '../../src/models/hypernet';
import { OPSET } from '../../src/models/tinyPack';
import { encodeModel, type ModelProto } from '../../src/onnx';
import { writeFileAtomic } from '../../src/files/atomicWrite';
import { loraInputNames, type LoraLayer } from '../../src/packs/manifest';
import { sd15ShapeGraphs } from '../../src/packer/sd15Shapes';
import { writeWithRandomWeights } from '../bench/lib/randomWeights';
import { vmHwmMb } from '../bench/lib/report';

/** ViT-B/14 at 224 px, 4 refinement steps: a stand-in of the paper's ViT-H hypernetwork. */
const GPU_HYPERNET: HypernetConfig = {
  imageSize: 224, patchSize: 14, width: 768, heads: 12, intermediateSize: 3072, encoderLayers: 12, decoderLayers: 4, refinementSteps: 4, layerNormEps: 1e-5,
};

const now = () => performance.now();

function normal(n: number, seed: number, scale = 1): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const u = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return (s + 0.5) / 2 ** 32; };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}

const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);

async function main(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  const ep = String(a.flags.ep ?? 'webgpu');
  const imageSize = Number(a.flags['image-size'] ?? 512);
  const steps = Number(a.flags.steps ?? 40);
  const genSteps = Number(a.flags['gen-steps'] ?? 25);
  const fp16 = String(a.flags.dtype ?? 'float16') === 'float16';
  const work = String(a.flags.work ?? '.bench/gpu');
  const rank = 4;
  mkdirSync(work, { recursive: true });
  const marks: Record<string, number> = {};
  const mark = (name: string) => { marks[name] = Date.now(); };
  const latent = imageSize / 8;

  let t = now();
  const files = ['unet.onnx', 'unet_train.onnx', 'text.onnx', 'text_grad.onnx', 'vae_decoder.onnx', 'hypernet.onnx', 'layers.json'];
  const p = (f: string) => join(work, f);
  // --reuse: the graphs a previous run wrote into --work (the dry run's second go on a slow machine)
  const reuse = !!a.flags.reuse && files.every((f) => existsSync(p(f)));
  const layers: LoraLayer[] = reuse ? JSON.parse(readFileSync(p('layers.json'), 'utf8')) as LoraLayer[] : buildAndWrite();
  const buildMs = now() - t;
  console.error(`graphs ${reuse ? 'reused' : 'built and written'} in ${(buildMs / 1000).toFixed(1)} s (${layers.length} LoRA layers)`);

  function buildAndWrite(): LoraLayer[] {
  const g = sd15ShapeGraphs({ imageSize, rank, attention: { maxScoreBytes: 64 * 2 ** 20 }, ...(latent >= 32 ? { recompute: 'auto' as const } : {}), ...(fp16 ? { fp16: true } : {}) });
  writeWithRandomWeights([g.unet, g.unetTrain!], [p('unet.onnx'), p('unet_train.onnx')], 1);
  writeWithRandomWeights([g.textEncoder, g.textEncoderGrad!], [p('text.onnx'), p('text_grad.onnx')], 2);
  writeWithRandomWeights([g.vaeDecoder], [p('vae_decoder.onnx')], 3);
  const hn = buildHypernet(GPU_HYPERNET, g.loraLayers, { seed: 4 });
  const hypernet: ModelProto = hn.builder.toModel({ opset: OPSET });
  writeFileAtomic(p('hypernet.onnx'), encodeModel(hypernet));
  writeFileAtomic(p('layers.json'), JSON.stringify(g.loraLayers));
  return g.loraLayers;
  }

  const options: ort.InferenceSession.SessionOptions = { executionProviders: [ep === 'webgpu' ? 'webgpu' : 'cpu'], graphOptimizationLevel: 'all' };
  const open = async (file: string) => ort.InferenceSession.create(p(file), options);

  // ---- personalization
  mark('personalizationSessionsStart');
  t = now();
  const [hyper, unetTrain, textGrad] = [await open('hypernet.onnx'), await open('unet_train.onnx'), await open('text_grad.onnx')];
  const personalizationSessionMs = now() - t;
  const ids = new ort.Tensor('int32', Int32Array.from({ length: 77 }, (_, i) => (i < 6 ? 320 + i : 49407)), [1, 77]);
  const slotValues: Record<string, Float32Array> = {};
  const slotDims: Record<string, number[]> = {};
  layers.forEach((l, i) => {
    const n = loraInputNames(l.name);
    slotValues[n.down] = normal(l.nIn * rank, 10 + i, 0.01);
    slotValues[n.up] = normal(rank * l.nOut, 1000 + i, 0.01);
    slotDims[n.down] = [l.nIn, rank];
    slotDims[n.up] = [rank, l.nOut];
  });
  const slotFeeds = (target: LoraLayer['target']) => Object.fromEntries(layers.filter((l) => l.target === target).flatMap((l) => {
    const n = loraInputNames(l.name);
    return [[n.down, f32(slotValues[n.down], slotDims[n.down])], [n.up, f32(slotValues[n.up], slotDims[n.up])]];
  }));
  const adam = new Adam(slotValues, { lr: 1e-3 });
  const L = latent, C = 4;
  const sample = normal(C * L * L, 1), target = normal(C * L * L, 2);
  const step = async (k: number) => {
    const textSlots = slotFeeds('text_encoder');
    const zero = f32(new Float32Array(77 * 768), [1, 77, 768]);
    const c = (await textGrad.run({ input_ids: ids, last_hidden_state_grad: zero, ...textSlots }, ['last_hidden_state'])).last_hidden_state;
    const u = await unetTrain.run({
      sample: f32(sample, [1, C, L, L]), timestep: f32(Float32Array.of(500 + k), [1]), encoder_hidden_states: c, target: f32(target, [1, C, L, L]), ...slotFeeds('unet'),
    });
    const tg = await textGrad.run({ input_ids: ids, last_hidden_state_grad: u.encoder_hidden_states_grad, ...textSlots });
    const grads: Record<string, Float32Array> = {};
    for (const name of Object.keys(slotValues)) grads[name] = ((u[`${name}_grad`] ?? tg[`${name}_grad`]).data as Float32Array);
    adam.step(grads);
    return (u.loss.data as Float32Array)[0];
  };
  t = now();
  await step(0);
  const warmupStepMs = now() - t;
  mark('personalizationStart');
  t = now();
  const face = normal(3 * 224 * 224, 3);
  await hyper.run({ pixel_values: f32(face, [1, 3, 224, 224]) });
  const hypernetMs = now() - t;
  const losses: number[] = [];
  for (let k = 1; k <= steps; k++) losses.push(await step(k));
  const personalizationMs = now() - t;
  mark('personalizationEnd');
  await Promise.all([hyper.release(), unetTrain.release(), textGrad.release()]);

  // ---- generation
  mark('generationSessionsStart');
  t = now();
  const [text, unet, vae] = [await open('text.onnx'), await open('unet.onnx'), await open('vae_decoder.onnx')];
  const generationSessionMs = now() - t;
  const unetSlots = Object.fromEntries(Object.entries(slotFeeds('unet')).map(([k, v]) => [k, v]));
  const textSlots = slotFeeds('text_encoder');
  const ids2 = new ort.Tensor('int32', Int32Array.from({ length: 154 }, (_, i) => (i % 77 < 6 ? 320 + (i % 77) : 49407)), [2, 77]);
  const latents = normal(C * L * L, 5);
  const unetCall = async (c: ort.Tensor, k: number) => {
    const batch = new Float32Array(2 * C * L * L);
    batch.set(latents); batch.set(latents, C * L * L);
    const out = await unet.run({ sample: f32(batch, [2, C, L, L]), timestep: f32(Float32Array.of(999 - 40 * k, 999 - 40 * k), [2]), encoder_hidden_states: c, ...unetSlots });
    return out.out_sample.data as Float32Array;
  };
  const c0 = (await text.run({ input_ids: ids2, ...textSlots })).last_hidden_state;
  await unetCall(c0, 0);
  mark('generationStart');
  t = now();
  const c = (await text.run({ input_ids: ids2, ...textSlots })).last_hidden_state;
  for (let k = 0; k < genSteps; k++) {
    const eps = await unetCall(c, k);
    // classifier-free guidance and an Euler-like update: the JS work a sampler does per step
    for (let i = 0; i < latents.length; i++) latents[i] -= 0.02 * (eps[i] + 7.5 * (eps[latents.length + i] - eps[i]));
  }
  const image = await vae.run({ latent_sample: f32(latents, [1, C, L, L]) });
  const generationMs = now() - t;
  mark('generationEnd');
  const pixels = image.sample.data as Float32Array;
  await Promise.all([text.release(), unet.release(), vae.release()]);

  console.log(JSON.stringify({
    ep, imageSize, dtype: fp16 ? 'float16' : 'float32', steps, genSteps, loraLayers: layers.length, hypernet: GPU_HYPERNET,
    buildMs, personalizationSessionMs, generationSessionMs, warmupStepMs, hypernetMs, personalizationMs, generationMs,
    firstLoss: losses[0], lastLoss: losses.at(-1), imageFinite: pixels.every(Number.isFinite), peakRssMb: vmHwmMb(), marks,
  }));
}

main(process.argv.slice(2)).then(() => process.exit(0), (e: Error) => { console.error(e.stack ?? e.message); process.exit(1); });
