import { describe, it, expect, beforeAll } from 'vitest';
import { consumers, decodeModel, encodeModel, makeTensorProto, readTensorProto, type ModelProto } from '../../../src/onnx';
import { insertLoraSlots } from '../../../src/onnx/lora';
import { buildTinyModels, type TinyModels } from '../../../src/models';
import type { LoraLayer } from '../../../src/packs/manifest';
import type { Feeds } from '../../../src/runtime/types';
import { f32, loraFeeds, maxAbsDiff, randn, session } from './helpers';

let withSlots: TinyModels;
let plain: TinyModels;
const B = 2;

beforeAll(() => {
  withSlots = buildTinyModels();
  plain = buildTinyModels({ loraSlots: false });
});

/** A copy of a slot-free model with every layer's weight replaced by W + down·up (the merge a LoRA loader does). */
function mergeLora(model: ModelProto, layers: LoraLayer[], feeds: Feeds): ModelProto {
  const merged = decodeModel(encodeModel(model));
  const graph = merged.graph!;
  const users = consumers(graph);
  for (const layer of layers) {
    const i = graph.initializer!.findIndex((t) => t.name === `${layer.name}.weight`);
    expect(i, layer.name).toBeGreaterThanOrEqual(0);
    // the weight must be what the projection's MatMul multiplies by, as a LoRA loader would find it
    const node = users.get(`${layer.name}.weight`)!;
    expect(node.map((n) => `${n.opType}:${n.input![1]}`)).toEqual([`MatMul:${layer.name}.weight`]);
    const w = readTensorProto(graph.initializer![i]);
    expect(w.dims).toEqual([layer.nIn, layer.nOut]);
    const down = feeds[`lora.${layer.name}.down`];
    const up = feeds[`lora.${layer.name}.up`];
    const r = down.dims[1];
    const out = new Float32Array(layer.nIn * layer.nOut);
    for (let a = 0; a < layer.nIn; a++) {
      for (let c = 0; c < layer.nOut; c++) {
        let s = (w.data as Float32Array)[a * layer.nOut + c];
        for (let k = 0; k < r; k++) s += (down.data as Float32Array)[a * r + k] * (up.data as Float32Array)[k * layer.nOut + c];
        out[a * layer.nOut + c] = s;
      }
    }
    graph.initializer![i] = makeTensorProto(graph.initializer![i].name!, { dtype: 'float32', dims: w.dims, data: out });
  }
  return merged;
}

const randomSlots = (layers: LoraLayer[], rank: number) =>
  loraFeeds(layers, rank, (i, which, n) => randn(n, 1000 + 2 * i + (which === 'up' ? 1 : 0), 0.2));
const zeroSlots = (layers: LoraLayer[]) => loraFeeds(layers, 1, (_, __, n) => new Float32Array(n));

async function run(model: ModelProto, feeds: Feeds, output: string): Promise<Float32Array> {
  const s = await session('model', model);
  try {
    return (await s.run(feeds, [output]))[output].data as Float32Array;
  } finally {
    await s.release();
  }
}

describe('LoRA slots', () => {
  const unetFeeds = (): Feeds => ({
    sample: f32(randn(B * 4 * 8 * 8, 11), [B, 4, 8, 8]),
    timestep: f32(new Float32Array([901, 37]), [B]),
    encoder_hidden_states: f32(randn(B * 77 * 32, 12), [B, 77, 32]),
  });
  const textFeeds = (): Feeds => {
    const ids = new Int32Array(B * 77).fill(withSlots.tokenizer.model.vocab['<|endoftext|>']);
    for (let b = 0; b < B; b++) for (let t = 0; t < 6; t++) ids[b * 77 + t] = 300 + 17 * b + 5 * t;
    return { input_ids: { type: 'int32', data: ids, dims: [B, 77] } };
  };
  const cases = [
    { target: 'unet' as const, pick: (m: TinyModels) => m.unet, feeds: unetFeeds, output: 'out_sample' },
    { target: 'text_encoder' as const, pick: (m: TinyModels) => m.textEncoder, feeds: textFeeds, output: 'last_hidden_state' },
  ];

  for (const c of cases) {
    it(`${c.target}: zero slots give exactly the slot-free graph`, async () => {
      const layers = withSlots.loraLayers.filter((l) => l.target === c.target);
      const ref = await run(c.pick(plain), c.feeds(), c.output);
      const got = await run(c.pick(withSlots), { ...c.feeds(), ...zeroSlots(layers) }, c.output);
      expect(maxAbsDiff(got, ref)).toBeLessThanOrEqual(1e-6);
    });

    it(`${c.target}: rank-2 slots equal the slot-free graph with W + down·up merged`, async () => {
      const layers = withSlots.loraLayers.filter((l) => l.target === c.target);
      const slots = randomSlots(layers, 2);
      const base = await run(c.pick(plain), c.feeds(), c.output);
      const mergedOut = await run(mergeLora(c.pick(plain), layers, slots), c.feeds(), c.output);
      const got = await run(c.pick(withSlots), { ...c.feeds(), ...slots }, c.output);
      expect(maxAbsDiff(mergedOut, base)).toBeGreaterThan(1e-2); // the LoRA changes the output
      expect(maxAbsDiff(got, mergedOut)).toBeLessThanOrEqual(1e-5);
    });
  }

  it('slot-free graphs carry the same weights and node names as the slot graphs', () => {
    for (const pick of [(m: TinyModels) => m.unet, (m: TinyModels) => m.textEncoder]) {
      const a = pick(withSlots).graph!;
      const b = pick(plain).graph!;
      expect(a.initializer!.map((t) => t.name)).toEqual(b.initializer!.map((t) => t.name));
      const bytes = (g: typeof a) => Buffer.from(encodeModel({ graph: { initializer: g.initializer } }));
      expect(bytes(a).equals(bytes(b))).toBe(true);
      const names = new Set(a.node!.map((n) => n.name));
      expect(b.node!.every((n) => names.has(n.name))).toBe(true);
      expect(a.node!.filter((n) => !n.name!.includes('/lora/')).map((n) => n.name)).toEqual(b.node!.map((n) => n.name));
    }
  });

  it('match insertLoraSlots applied to the slot-free graphs (same layers, node names, numbers)', async () => {
    for (const c of cases) {
      const layers = withSlots.loraLayers.filter((l) => l.target === c.target);
      const inserted = insertLoraSlots(c.pick(plain));
      // the manifest's layers also carry their LiDB aux widths a, b, which insertLoraSlots does not know
      expect(inserted.layers).toEqual(layers.map((l) => ({ name: l.name, target: l.target, nIn: l.nIn, nOut: l.nOut })));
      expect(inserted.model.graph!.node!.map((n) => n.name)).toEqual(c.pick(withSlots).graph!.node!.map((n) => n.name));
      const slots = randomSlots(layers, 3);
      const a = await run(inserted.model, { ...c.feeds(), ...slots }, c.output);
      const b = await run(c.pick(withSlots), { ...c.feeds(), ...slots }, c.output);
      expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(1e-6);
    }
  });
});
