// The fine-tune graphs in the tiny pack: what they take and give, that they read the very
// weights of the forward graphs from one shared weights.bin (no second copy in the download),
// and the manifest's "train" block.
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeModel, externalLocation, feedInputs, onnx, type ModelProto } from '../../../src/onnx';
import { buildTinyModels, TINY_FILES } from '../../../src/models';
import { readPackGraph } from '../../../src/training/packGraphs';
import { shareExternalData } from '../../../src/finetune/trainGraphs';
import { TRAIN_IO } from '../../../src/packs/graphIO';
import { loadPackFromDisk } from '../../../src/packs/node';
import { loraInputNames, validateManifest, type PackManifest } from '../../../src/packs/manifest';
import type { LoadedPack } from '../../../src/packs/types';
import { TINY } from './helpers';

let pack: LoadedPack;
let manifest: PackManifest;
beforeAll(async () => {
  pack = await loadPackFromDisk(TINY);
  manifest = pack.manifest;
});

const graph = (file: string): ModelProto => decodeModel(pack.files(file));
const names = (vs: { name?: string | null }[] | null | undefined) => (vs ?? []).map((v) => v.name!);

describe('tiny pack train graphs', () => {
  it('UNet train step: (sample, timestep, c, target, UNet slots) → loss, slot gradients, ∂loss/∂c, in default-domain ops', () => {
    const m = graph(manifest.train!.unet.file);
    const unetSlots = manifest.lora.layers.filter((l) => l.target === 'unet').flatMap((l) => Object.values(loraInputNames(l.name)));
    expect(names(feedInputs(m.graph!)).sort()).toEqual(['sample', 'timestep', 'encoder_hidden_states', TRAIN_IO.target, ...unetSlots].sort());
    const outputs = names(m.graph!.output);
    for (const o of [TRAIN_IO.loss, TRAIN_IO.contextGrad, ...unetSlots.map((s) => `${s}_grad`)]) expect(outputs, o).toContain(o);
    expect(m.graph!.node!.every((n) => (n.domain ?? '') === '')).toBe(true);
  });

  it('text-encoder VJP: (input_ids, ∂loss/∂c, text slots) → c and the text slots\' gradients', () => {
    const m = graph(manifest.train!.textEncoder!.file);
    const textSlots = manifest.lora.layers.filter((l) => l.target === 'text_encoder').flatMap((l) => Object.values(loraInputNames(l.name)));
    expect(names(feedInputs(m.graph!)).sort()).toEqual(['input_ids', TRAIN_IO.textSeed, ...textSlots].sort());
    const outputs = names(m.graph!.output);
    for (const o of ['last_hidden_state', ...textSlots.map((s) => `${s}_grad`)]) expect(outputs, o).toContain(o);
  });

  it('share one weights file with the forward graphs: same offsets, the forward graph\'s exact bytes, no weight kept twice', () => {
    // the committed forward graphs with their weights read in (the pack is trained: its values are not a fresh build's)
    const inlined = (pm: PackManifest['models']['unet']) => readPackGraph(pack, pm);
    for (const [forward, train, weights, source] of [
      [manifest.models.unet, manifest.train!.unet, TINY_FILES.unetWeights, inlined(manifest.models.unet)],
      [manifest.models.textEncoder, manifest.train!.textEncoder!, TINY_FILES.textEncoderWeights, inlined(manifest.models.textEncoder)],
    ] as const) {
      expect(forward.externalData).toEqual([weights]);
      expect(train.externalData).toEqual([weights]);
      const data = pack.files(weights);
      const inline = new Map(source.graph!.initializer!.map((t) => [t.name!, t.rawData!]));
      const refs = (m: ModelProto) => new Map(m.graph!.initializer!.flatMap((t) => {
        const at = externalLocation(t);
        return at ? [[t.name!, at] as const] : [];
      }));
      const f = refs(graph(forward.file));
      const t = refs(graph(train.file));
      expect(f.size).toBeGreaterThan(10);
      expect(t).toEqual(f);
      let covered = 0;
      for (const [name, at] of f) {
        expect(at.location).toBe('weights.bin');
        expect(Buffer.from(data.subarray(at.offset, at.offset + at.length!)).equals(Buffer.from(inline.get(name)!)), name).toBe(true);
        covered += at.length!;
      }
      // weights.bin is those tensors and their alignment padding, nothing else
      expect(data.length - covered).toBeLessThan(64 * f.size);
      // what the train graph keeps inline is small: the backward pass's constants
      const inlineBytes = graph(train.file).graph!.initializer!.reduce((s, x) => s + (x.rawData?.length ?? 0), 0);
      expect(inlineBytes).toBeLessThan(covered / 20);
    }
  });

  it('shareExternalData refuses a second model whose weight differs from the first\'s', () => {
    const { textEncoder } = buildTinyModels();
    const other = onnx.ModelProto.decode(onnx.ModelProto.encode(textEncoder).finish());
    const big = other.graph!.initializer!.find((t) => (t.rawData?.length ?? 0) >= 1024)!;
    big.rawData = big.rawData!.slice();
    big.rawData[0] ^= 1;
    expect(() => shareExternalData([textEncoder, other], { location: 'weights.bin' })).toThrow(new RegExp(`initializer ${big.name!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} differs`));
  });
});

describe('manifest "train"', () => {
  const broken = (edit: (m: PackManifest) => void) => {
    const m = JSON.parse(JSON.stringify(manifest)) as PackManifest;
    edit(m);
    return () => validateManifest(m, 'm.json');
  };
  it('holds the graphs and the default settings (40 steps, rank 4, the measured rate)', () => {
    expect(manifest.train!.defaults).toEqual({ steps: 40, rank: 4, learningRate: 1e-2 });
  });
  it('is checked: files listed, defaults sane, needs lidb', () => {
    expect(broken(() => {})).not.toThrow();
    expect(broken((m) => { m.files = m.files.filter((f) => f.path !== m.train!.unet.file); })).toThrow(/unet\/train.onnx is used but not listed/);
    expect(broken((m) => { m.files = m.files.filter((f) => f.path !== TINY_FILES.textEncoderWeights); })).toThrow(/text_encoder\/weights.bin is used but not listed/);
    expect(broken((m) => { delete (m.train as Partial<PackManifest['train']>)!.textEncoder; })).toThrow(/missing train.textEncoder.file/);
    expect(broken((m) => { delete (m.train as Partial<PackManifest['train']>)!.unet; })).toThrow(/missing train.unet.file/);
    expect(broken((m) => { m.train!.defaults.steps = 0; })).toThrow(/train.defaults.steps/);
    expect(broken((m) => { m.train!.defaults.rank = 1.5; })).toThrow(/train.defaults.rank/);
    expect(broken((m) => { m.train!.defaults.learningRate = -1; })).toThrow(/train.defaults.learningRate/);
    expect(broken((m) => { delete m.hypernet; delete m.lidb; })).toThrow(/"train" needs "lidb"/);
  });
});
