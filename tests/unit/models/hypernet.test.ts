// The tiny pack's hypernetwork and aux bases, run with onnxruntime-node on the committed pack:
// face crop → lidb_down/lidb_up → rank-1 LiDB → LoRA slots → a changed UNet and text encoder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeModel, encodeModel, opsetVersion, producers, readTensorProto, valueType, type ModelProto, type NodeProto, type ValueInfoProto } from '../../../src/onnx';
import { buildHypernet, TINY_HYPERNET, TINY_SEED } from '../../../src/models';
import { HYPERNET_IO } from '../../../src/packs/graphIO';
import { subSeed } from '../../../src/diffusion/random';
import { auxDims, lidbFromRows, lidbToSlots, makeAuxBases, readAuxFile, type AuxBases, type LoraSlots } from '../../../src/lidb';
import { loadPackFromDisk } from '../../../src/packs/node';
import { loraInputNames, validateManifest, type PackManifest } from '../../../src/packs/manifest';
import { sha256HexSync } from '../../../src/packs/writePack';
import type { LoadedPack } from '../../../src/packs/types';
import type { Feeds, Session } from '../../../src/runtime/types';
import { decodeImageBytes } from '../../../src/face/decodeNode';
import { centreGuessCrop, cropToSquare, squareAround, toPixelValues } from '../../../src/face/crop';
import { f32, maxAbsDiff, randn, session } from './helpers';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { modelSource } from '../../../src/pipeline/modelSource';
import { PACK_OPS } from './packOps';

const COMMITTED = join(__dirname, '../../../public/models/tiny');
const PHOTOS = join(__dirname, '../../fixtures/images');

let pack: LoadedPack;
let manifest: PackManifest;
let hypernetModel: ModelProto;
let hypernet: Session;
let unet: Session;
let textEncoder: Session;
let aux: AuxBases;
let L: number;
let aMax: number;
let bMax: number;

/** A photo's square crop as the hypernetwork takes it. */
function pixelValues(file: string, crop: 'astronaut-face' | 'centre'): Float32Array {
  const { image } = decodeImageBytes(new Uint8Array(readFileSync(join(PHOTOS, file))));
  // the astronaut's face: BlazeFace finds it at (0.44, 0.25) of the 512² photo, 0.18 wide
  const square = crop === 'astronaut-face' ? squareAround(0.44 * 512, 0.27 * 512, 2.2 * 0.18 * 512, image) : centreGuessCrop(image);
  const S = manifest.hypernet!.imageSize;
  return toPixelValues(cropToSquare(image, square, S), manifest.hypernet!.normalize);
}

async function predict(pixels: Float32Array): Promise<{ down: Float32Array; up: Float32Array; dims: (readonly number[])[] }> {
  const S = manifest.hypernet!.imageSize;
  const out = await hypernet.run({ [HYPERNET_IO.input]: f32(pixels, [1, 3, S, S]) });
  return { down: out[HYPERNET_IO.down].data as Float32Array, up: out[HYPERNET_IO.up].data as Float32Array, dims: [out[HYPERNET_IO.down].dims, out[HYPERNET_IO.up].dims] };
}

function slotFeeds(target: 'unet' | 'text_encoder', slots?: LoraSlots): Feeds {
  const feeds: Feeds = {};
  for (const l of manifest.lora.layers.filter((x) => x.target === target)) {
    const s = slots?.get(l.name);
    const names = loraInputNames(l.name);
    feeds[names.down] = f32(s?.down ?? new Float32Array(l.nIn), [l.nIn, s?.rank ?? 1]);
    feeds[names.up] = f32(s?.up ?? new Float32Array(l.nOut), [s?.rank ?? 1, l.nOut]);
  }
  return feeds;
}

beforeAll(async () => {
  pack = await loadPackFromDisk(COMMITTED);
  manifest = pack.manifest;
  L = manifest.lora.layers.length;
  ({ aMax, bMax } = manifest.lidb!);
  const hypernetBytes = pack.files(manifest.hypernet!.model.file);
  hypernetModel = decodeModel(hypernetBytes);
  hypernet = await session('hypernet', hypernetBytes);
  // these two keep their weights in an external file (shared with the fine-tune graphs)
  unet = await createNodeRuntime().createSession(modelSource('unet', manifest.models.unet, pack.files));
  textEncoder = await createNodeRuntime().createSession(modelSource('text_encoder', manifest.models.textEncoder, pack.files));
  aux = readAuxFile(pack.files(manifest.lidb!.aux), manifest.lora.layers);
});

afterAll(async () => {
  await hypernet?.release();
  await unet?.release();
  await textEncoder?.release();
});

describe('tiny pack manifest: lidb and hypernet', () => {
  it('records a = min(100, nIn), b = min(50, nOut) on every layer, their maxima, the aux file and the hypernetwork', () => {
    for (const l of manifest.lora.layers) expect({ a: l.a, b: l.b }, l.name).toEqual({ a: Math.min(100, l.nIn), b: Math.min(50, l.nOut) });
    expect(L).toBe(64);
    expect(manifest.lidb).toEqual({
      aux: 'lidb/aux.safetensors', auxSha256: manifest.files.find((f) => f.path === 'lidb/aux.safetensors')!.sha256,
      auxSeed: subSeed(TINY_SEED, 'lidb_aux'), aMax: 64, bMax: 50,
    });
    expect(manifest.hypernet).toEqual({
      model: { file: 'hypernet/model.onnx' }, imageSize: 64,
      normalize: { mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] },
      refinementSteps: 4,
    });
  });

  it('validateManifest refuses a pack whose lidb or hypernet entries are inconsistent, saying what is wrong', () => {
    const good = JSON.parse(JSON.stringify(manifest)) as PackManifest;
    expect(() => validateManifest(good)).not.toThrow();
    const broken = (edit: (m: PackManifest) => void) => {
      const m = JSON.parse(JSON.stringify(good)) as PackManifest;
      edit(m);
      return () => validateManifest(m, 'm.json');
    };
    expect(broken((m) => { m.files = m.files.filter((f) => f.path !== m.lidb!.aux); })).toThrow(/lidb\/aux.safetensors is used but not listed/);
    expect(broken((m) => { m.files = m.files.filter((f) => f.path !== m.hypernet!.model.file); })).toThrow(/hypernet\/model.onnx is used but not listed/);
    expect(broken((m) => { m.lidb!.auxSha256 = 'ab'.repeat(32); })).toThrow(/auxSha256/);
    expect(broken((m) => { m.lidb!.auxSeed = -1; })).toThrow(/auxSeed/);
    expect(broken((m) => { delete m.lora.layers[3].a; })).toThrow(/a = undefined must be an integer/);
    expect(broken((m) => { m.lora.layers[0].b = m.lora.layers[0].nOut + 1; })).toThrow(/b = \d+ must be an integer in \[1, nOut/);
    expect(broken((m) => { m.lidb!.aMax = 100; })).toThrow(/aMax\/bMax are 100\/50, the layers' largest a\/b are 64\/50/);
    expect(broken((m) => { delete m.lidb; })).toThrow(/"hypernet" needs "lidb"/);
    expect(broken((m) => { delete (m.hypernet as Partial<PackManifest['hypernet']>)!.model; })).toThrow(/missing hypernet.model.file/);
    expect(broken((m) => { m.hypernet!.normalize.std = [0.5, 0, 0.5]; })).toThrow(/normalize.std/);
    expect(broken((m) => { m.hypernet!.imageSize = 0; })).toThrow(/imageSize/);
    expect(broken((m) => { m.notice = '  '; })).toThrow(/"notice" must be a non-empty string/);
    expect(broken((m) => { m.notice = 'x'.repeat(601); })).toThrow(/at most 600 characters/);
    expect(broken((m) => { m.notice = 'Trained on synthetic portraits.'; })).not.toThrow();
    // both stay optional: a pack without them is still a pack
    expect(() => broken((m) => { delete m.hypernet; delete m.lidb; delete m.train; m.files = m.files.filter((f) => !['lidb/aux.safetensors', 'hypernet/model.onnx'].includes(f.path)); })()).not.toThrow();
  });
});

describe('tiny pack aux file', () => {
  it('matches its sha256 and seed, holds every layer at the manifest sizes, and is what makeAuxBases draws', () => {
    const bytes = pack.files(manifest.lidb!.aux);
    expect(sha256HexSync(bytes)).toBe(manifest.lidb!.auxSha256);
    expect(aux.seed).toBe(manifest.lidb!.auxSeed);
    expect([...aux.bases.keys()]).toEqual(manifest.lora.layers.map((l) => l.name));
    const fresh = makeAuxBases(manifest.lora.layers, manifest.lidb!.auxSeed);
    for (const [name, x] of aux.bases) {
      expect(Array.from(x.dAux), name).toEqual(Array.from(fresh.bases.get(name)!.dAux));
      expect(Array.from(x.uAux), name).toEqual(Array.from(fresh.bases.get(name)!.uAux));
    }
  });

  it('has orthonormal D_aux columns and U_aux rows (|QᵀQ − I| ≤ 1e-6 in float32)', () => {
    let worst = 0;
    for (const x of aux.bases.values()) {
      // D_auxᵀ·D_aux over [nIn, a] columns; U_aux·U_auxᵀ over [b, nOut] rows
      for (let i = 0; i < x.a; i++) for (let j = 0; j < x.a; j++) {
        let s = 0;
        for (let k = 0; k < x.nIn; k++) s += x.dAux[k * x.a + i] * x.dAux[k * x.a + j];
        worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
      }
      for (let i = 0; i < x.b; i++) for (let j = 0; j < x.b; j++) {
        let s = 0;
        for (let k = 0; k < x.nOut; k++) s += x.uAux[i * x.nOut + k] * x.uAux[j * x.nOut + k];
        worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
      }
    }
    expect(worst).toBeLessThan(1e-6);
    expect(worst).toBeGreaterThan(0); // float32 rounding shows: the check reads real values
  });
});

describe('tiny pack hypernetwork graph', () => {
  it('is an opset-17 default-domain graph of WebGPU-EP ops, about 1 MB, with the contract I/O', () => {
    expect(hypernetModel.opsetImport!.map((o) => o.domain ?? '')).toEqual(['']);
    expect(opsetVersion(hypernetModel)).toBe(17);
    const nodes = hypernetModel.graph!.node!;
    expect(nodes.every((n) => (n.domain ?? '') === '')).toBe(true);
    expect([...new Set(nodes.map((n) => n.opType!))].filter((op) => !PACK_OPS.includes(op))).toEqual([]);
    expect(pack.files(manifest.hypernet!.model.file).byteLength).toBeLessThan(1.1e6);
    const io = (list: ValueInfoProto[] | null | undefined) => (list ?? []).map((v) => ({ name: v.name, ...valueType(v)! }));
    expect(io(hypernetModel.graph!.input)).toEqual([{ name: 'pixel_values', dtype: 'float32', shape: [1, 3, 64, 64] }]);
    expect(io(hypernetModel.graph!.output)).toEqual([
      { name: 'lidb_down', dtype: 'float32', shape: [L, aMax] },
      { name: 'lidb_up', dtype: 'float32', shape: [L, bMax] },
    ]);
  });

  it('encodes the image once and runs the decoder s = 4 times with one set of weights', () => {
    const nodes = hypernetModel.graph!.node!;
    const inits = new Set(hypernetModel.graph!.initializer!.map((t) => t.name!));
    const named = (prefix: string) => nodes.filter((n) => n.name === prefix || n.name!.startsWith(`${prefix}_`));
    expect(named('/vision_model/embeddings/patch_embedding/Conv')).toHaveLength(1);
    expect(named('/vision_model/encoder/layers.1/self_attn/q_proj/MatMul')).toHaveLength(1);
    for (const module of ['decoder/layers.0/self_attn/q_proj', 'decoder/layers.1/cross_attn/k_proj', 'decoder/layers.1/mlp/fc2', 'decoder/weight_embed', 'heads/down', 'heads/up']) {
      const matmuls = named(`/${module}/MatMul`);
      expect(matmuls, module).toHaveLength(4);
      const weight = `${module.replace(/\//g, '.')}.weight`;
      expect(inits.has(weight), weight).toBe(true);
      expect(new Set(matmuls.map((n) => n.input![1]))).toEqual(new Set([weight]));
    }
    // cross-attention keys read the encoder's features, the same tensor every step
    const kInputs = new Set(named('/decoder/layers.0/cross_attn/k_proj/MatMul').map((n) => n.input![0]));
    expect(kInputs.size).toBe(1);
    expect(producers(hypernetModel.graph!).get([...kInputs][0])!.name).toMatch(/^\/vision_model\/post_layernorm\//);
  });

  it('accumulates θ̂ₖ = θ̂ₖ₋₁ + mask·Δₖ from θ̂₀ = 0 over 4 steps, with the 0/1 mask of each layer\'s a and b', () => {
    const graph = hypernetModel.graph!;
    const made = producers(graph);
    const inits = new Map(graph.initializer!.map((t) => [t.name!, readTensorProto(t)]));
    for (const [output, width, size] of [['lidb_down', aMax, 'a'], ['lidb_up', bMax, 'b']] as const) {
      let state = made.get(made.get(output)!.input![0])!.input![0]; // Identity ← Reshape ← θ̂_s
      let steps = 0;
      for (let add: NodeProto | undefined; (add = made.get(state)); steps++) {
        expect(add.opType).toBe('Add');
        const mul = made.get(add.input![1])!;
        expect(mul.opType).toBe('Mul');
        const mask = inits.get(mul.input![1])!;
        expect(mask.dims).toEqual([1, L, width]);
        manifest.lora.layers.forEach((l, i) => {
          const row = Array.from(mask.data.subarray(i * width, (i + 1) * width) as Float32Array);
          expect(row).toEqual(Array.from({ length: width }, (_, j) => (j < auxDims(l)[size] ? 1 : 0)));
        });
        state = add.input![0];
      }
      expect(steps).toBe(4);
      const theta0 = inits.get(state)!;
      expect(theta0.dims).toEqual([1, L, width]);
      expect((theta0.data as Float32Array).every((v) => v === 0)).toBe(true);
    }
  });

  it('is seeded: the same seed gives the same bytes, another seed other weights', () => {
    const build = (seed: number) => encodeModel(buildHypernet(TINY_HYPERNET, manifest.lora.layers, { seed }).builder.toModel({ opset: 17 }));
    const a = build(subSeed(TINY_SEED, 'hypernet'));
    expect(sha256HexSync(build(subSeed(TINY_SEED, 'hypernet')))).toBe(sha256HexSync(a));
    expect(sha256HexSync(build(7))).not.toBe(sha256HexSync(a));
    const again = buildHypernet(TINY_HYPERNET, manifest.lora.layers, { seed: 7 });
    expect({ aMax: again.aMax, bMax: again.bMax }).toEqual({ aMax, bMax });
  });
});

describe('hypernetwork → LiDB → slots → UNet (onnxruntime-node)', () => {
  let astronaut: { down: Float32Array; up: Float32Array; dims: (readonly number[])[] };
  let cat: { down: Float32Array; up: Float32Array; dims: (readonly number[])[] };

  beforeAll(async () => {
    astronaut = await predict(pixelValues('astronaut.png', 'astronaut-face'));
    cat = await predict(pixelValues('chelsea.png', 'centre'));
  });

  it('predicts finite [L, aMax] / [L, bMax] rows, exactly zero past each layer\'s a and b, at θ*\'s scale and deterministic', async () => {
    expect(astronaut.dims).toEqual([[L, aMax], [L, bMax]]);
    for (const { down, up } of [astronaut, cat]) {
      expect(down.every(Number.isFinite) && up.every(Number.isFinite)).toBe(true);
      manifest.lora.layers.forEach((l, i) => {
        const d = down.subarray(i * aMax, (i + 1) * aMax);
        const u = up.subarray(i * bMax, (i + 1) * bMax);
        expect(d.subarray(l.a!).every((v) => v === 0), `${l.name} down padding`).toBe(true);
        expect(u.subarray(l.b!).every((v) => v === 0), `${l.name} up padding`).toBe(true);
        expect(d.subarray(0, l.a!).every((v) => v !== 0), `${l.name} down`).toBe(true);
        expect(u.subarray(0, l.b!).every((v) => v !== 0), `${l.name} up`).toBe(true);
        // the scales of the θ* it was trained on: ‖D_train‖ O(1) like a xavier-initialized LiDB,
        // U_train well below 1
        const norm = (x: Float32Array) => Math.hypot(...x);
        expect(norm(d)).toBeGreaterThan(0.2);
        expect(norm(d)).toBeLessThan(5);
        expect(Math.max(...u.map(Math.abs))).toBeLessThan(1);
      });
    }
    const again = await predict(pixelValues('astronaut.png', 'astronaut-face'));
    expect(maxAbsDiff(again.down, astronaut.down)).toBe(0);
    expect(maxAbsDiff(again.up, astronaut.up)).toBe(0);
  });

  it('predicts different weights for different images', async () => {
    const meanAbs = (x: Float32Array) => x.reduce((s, v) => s + Math.abs(v), 0) / x.length;
    const diff = (x: Float32Array, y: Float32Array) => meanAbs(x.map((v, i) => v - y[i]));
    // relative to the values' own size, so a network that ignored the image would fail
    expect(diff(astronaut.down, cat.down) / meanAbs(astronaut.down)).toBeGreaterThan(0.1);
    expect(diff(astronaut.up, cat.up) / meanAbs(astronaut.up)).toBeGreaterThan(0.1);
    const noise = await predict(randn(3 * 64 * 64, 11));
    expect(diff(astronaut.down, noise.down) / meanAbs(astronaut.down)).toBeGreaterThan(0.1);
  });

  it('gives a rank-1 LiDB whose slots fit the UNet and text encoder and change their outputs', async () => {
    const lidb = lidbFromRows(manifest.lora.layers, astronaut.down, astronaut.up, aMax, bMax);
    expect(lidb.rank).toBe(1);
    expect([...lidb.layers.keys()]).toEqual(manifest.lora.layers.map((l) => l.name));
    const slots = lidbToSlots(lidb, aux);
    for (const l of manifest.lora.layers) {
      const s = slots.get(l.name)!;
      expect([s.down.length, s.up.length], l.name).toEqual([l.nIn, l.nOut]);
      expect(s.up.some((v) => v !== 0)).toBe(true);
    }
    const inputs = new Set([...unet.inputNames, ...textEncoder.inputNames]);
    for (const name of [...Object.keys(slotFeeds('unet', slots)), ...Object.keys(slotFeeds('text_encoder', slots))]) expect(inputs.has(name), name).toBe(true);

    const { channels, height, width } = manifest.latent;
    const base: Feeds = {
      sample: f32(randn(channels * height * width, 21), [1, channels, height, width]),
      timestep: f32(Float32Array.of(500), [1]),
      encoder_hidden_states: f32(randn(manifest.text.maxLength * manifest.text.hiddenSize, 22), [1, manifest.text.maxLength, manifest.text.hiddenSize]),
    };
    const plain = (await unet.run({ ...base, ...slotFeeds('unet') })).out_sample.data as Float32Array;
    const personal = (await unet.run({ ...base, ...slotFeeds('unet', slots) })).out_sample.data as Float32Array;
    expect(personal.every(Number.isFinite)).toBe(true);
    const change = maxAbsDiff(personal, plain);
    expect(change).toBeGreaterThan(1e-3);
    expect(change).toBeLessThan(maxAbsDiff(plain, new Float32Array(plain.length))); // a nudge, not a different network

    const ids = Int32Array.from({ length: manifest.text.maxLength }, (_, i) => (i * 37 + 11) % 500);
    const teBase: Feeds = { input_ids: { type: 'int32', dims: [1, ids.length], data: ids } };
    const tePlain = (await textEncoder.run({ ...teBase, ...slotFeeds('text_encoder') })).last_hidden_state.data as Float32Array;
    const tePersonal = (await textEncoder.run({ ...teBase, ...slotFeeds('text_encoder', slots) })).last_hidden_state.data as Float32Array;
    expect(maxAbsDiff(tePersonal, tePlain)).toBeGreaterThan(1e-3);
  });
});
