// What `hyperbooth pack` refuses, and how it says so: missing parts, ORT/Olive-optimized
// graphs (packed QKV, contrib ops), exports without module scopes, SD1.5-sized graphs with the
// wrong layer count, hypernetworks that break the contract; and what it only warns about.
import { afterAll, describe, expect, it, vi } from 'vitest';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeModel, encodeModel, onnx } from '../../../src/onnx';
import { buildHypernet, TINY_HYPERNET } from '../../../src/models/hypernet';
import { sd15LoraLayers } from '../../../src/lidb/layers';
import { loadPackFromDisk } from '../../../src/packs/node';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { createPersonalizer } from '../../../src/finetune/personalize';
import { checkLayerCount, hasSd15Dimensions, packExport, PackInputError, SD15_LAYER_COUNTS } from '../../../src/packer';
import { run as packCli } from '../../../tools/commands/pack';
import { copyExport, fixture, packFixture, removeTempDirs, tempDir } from './helpers';

afterAll(removeTempDirs);

async function refusal(from: string, opts: { imageSize?: number; hypernet?: string; textEncoderLora?: boolean } = {}): Promise<PackInputError> {
  const out = join(tempDir('refused'), 'pack');
  const err = await packExport({ from, out, imageSize: 64, ...opts }).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(PackInputError);
  // nothing is left behind: no pack, no staging folder
  expect(existsSync(out)).toBe(false);
  expect(existsSync(join(out, '..', `.pack.partial-${process.pid}`))).toBe(false);
  return err as PackInputError;
}

function rewriteUnet(dir: string, edit: (m: ReturnType<typeof decodeModel>) => void): void {
  const path = join(dir, 'unet/model.onnx');
  const model = decodeModel(readFileSync(path));
  edit(model);
  writeFileSync(path, encodeModel(model));
}

describe('missing parts', () => {
  it('names each missing part of the export', async () => {
    const dir = copyExport('diffusers');
    rmSync(join(dir, 'vae_decoder/model.onnx'));
    rmSync(join(dir, 'tokenizer/merges.txt'));
    const err = await refusal(dir);
    expect(err.kind).toBe('missing-part');
    expect(err.message).toBe(`the export at ${dir} lacks vae_decoder/model.onnx (the VAE decoder), tokenizer/merges.txt (the CLIP tokenizer's BPE merges)`);
  });

  it('names a missing or cut external weights file', async () => {
    const dir = copyExport('diffusers');
    rmSync(join(dir, 'unet/weights.pb'));
    expect((await refusal(dir)).message).toMatch(/^unet\/weights\.pb is missing \(unet\/model\.onnx keeps tensor \S+ there\)$/);
    const opt = copyExport('optimum');
    const data = join(opt, 'unet/model.onnx_data');
    writeFileSync(data, readFileSync(data).subarray(0, 1000));
    expect((await refusal(opt)).message).toMatch(/^unet\/model\.onnx_data ends at byte 1000, but unet\/model\.onnx reads tensor \S+ up to byte \d+ \(a cut download\?\)$/);
  });

  it('names the scheduler config, and a folder that is not there', async () => {
    const dir = copyExport('optimum');
    rmSync(join(dir, 'scheduler'), { recursive: true });
    expect((await refusal(dir)).message).toMatch(/lacks scheduler\/scheduler_config\.json \(the noise schedule\)$/);
    expect((await refusal(join(dir, 'nope'))).message).toMatch(/no such folder/);
  });
});

describe('ORT/Olive-optimized and unusable graphs', () => {
  it("packed QKV (the committed ort-optimized UNet): says which attention lacks q/k/v and which export to use", async () => {
    const dir = copyExport('diffusers');
    rmSync(join(dir, 'unet'), { recursive: true });
    cpSync(join(fixture('ort-optimized'), 'unet'), join(dir, 'unet'), { recursive: true });
    const err = await refusal(dir);
    expect(err.kind).toBe('optimized-export');
    expect(err.message).toMatch(/^unet\/model\.onnx: 4 attention modules lack separate projections, e\.g\. down_blocks\.0\.attentions\.0\.transformer_blocks\.0\.attn1 has no to_q, to_k, to_v \(q\/k\/v packed into one MatMul/);
    expect(err.message).toMatch(/convert_stable_diffusion_checkpoint_to_onnx\.py or `optimum-cli export onnx/);
    expect(err.message).toMatch(/not an ONNX Runtime\/Olive-optimized one/);
  });

  it('contrib ops (com.microsoft GroupNorm, NhwcConv): lists them and names the plain export', async () => {
    const dir = copyExport('diffusers');
    rewriteUnet(dir, (m) => {
      let norms = 0;
      for (const n of m.graph!.node!) {
        if (n.opType === 'InstanceNormalization' && norms++ < 3) { n.opType = 'GroupNorm'; n.domain = 'com.microsoft'; }
        if (n.opType === 'Conv' && n.name === '/conv_in/Conv') { n.opType = 'NhwcConv'; n.domain = 'com.microsoft'; }
      }
      m.opsetImport!.push(onnx.OperatorSetIdProto.create({ domain: 'com.microsoft', version: 1 }));
    });
    const err = await refusal(dir);
    expect(err.kind).toBe('optimized-export');
    expect(err.message).toMatch(/^unet\/model\.onnx uses ops outside the standard ONNX domain \(com\.microsoft\.NhwcConv ×1, com\.microsoft\.GroupNorm ×3\): it is an ONNX Runtime\/Olive-optimized export/);
  });

  it('an export without module scopes in its node names: no projections found, says why', async () => {
    const dir = copyExport('diffusers');
    rewriteUnet(dir, (m) => m.graph!.node!.forEach((n, i) => { n.name = `${n.opType}_${i}`; }));
    const err = await refusal(dir);
    expect(err.kind).toBe('optimized-export');
    expect(err.message).toMatch(/^unet\/model\.onnx: no attention projections found .*the graph has no attention module names \(an export without torch module scopes, torch < 1\.13\?\)/);
  });

  it('graph inputs the pipeline cannot feed: names what is missing and what is there', async () => {
    const dir = copyExport('diffusers');
    rewriteUnet(dir, (m) => {
      const ts = m.graph!.input!.find((i) => i.name === 'timestep')!;
      for (const n of m.graph!.node!) n.input = n.input!.map((x) => (x === 'timestep' ? 't' : x));
      ts.name = 't';
    });
    const err = await refusal(dir);
    expect(err.kind).toBe('io');
    expect(err.message).toBe('unet/model.onnx lacks input timestep (it has inputs sample, t, encoder_hidden_states and outputs out_sample); the pipeline uses the diffusers/optimum export\'s names');
  });
});

describe('layer counts against SD1.5', () => {
  const sd15 = sd15LoraLayers();
  const unet = sd15.filter((l) => l.target === 'unet');
  const text = sd15.filter((l) => l.target === 'text_encoder');

  it("SD1.5's own layer list passes", () => {
    expect(SD15_LAYER_COUNTS).toEqual({ unet: 128, text_encoder: 48 });
    expect(hasSd15Dimensions('unet', unet)).toBe(true);
    expect(hasSd15Dimensions('text_encoder', text, 49408)).toBe(true);
    expect(checkLayerCount('unet', unet, true)).toEqual({ level: 'ok', message: '128 UNet LoRA layers (SD1.5 has 128)' });
    expect(checkLayerCount('text_encoder', text, true).level).toBe('ok');
  });

  it('a missing projection in an SD1.5-sized graph is an error; in another model a warning', () => {
    const fewer = unet.slice(1);
    expect(hasSd15Dimensions('unet', fewer)).toBe(true);
    const e = checkLayerCount('unet', fewer, true);
    expect(e.level).toBe('error');
    expect(e.message).toMatch(/^found 127 UNet LoRA layers, but a graph of SD1\.5's dimensions has 128/);
    const w = checkLayerCount('text_encoder', text.slice(4), false);
    expect(w).toEqual({ level: 'warning', message: "found 44 text-encoder LoRA layers; SD1.5 has 48 (these are not SD1.5's dimensions, so that can be right)" });
    // SD2's text tower is 1024 wide, the fixture's 16: not SD1.5's dimensions
    expect(hasSd15Dimensions('text_encoder', text.map((l) => ({ ...l, nIn: 1024, nOut: 1024 })), 49408)).toBe(false);
    expect(hasSd15Dimensions('unet', unet.map((l) => ({ ...l, nIn: l.nIn / 20, nOut: l.nOut / 20 })))).toBe(false);
  });
});

describe('ops the WebGPU EP lacks', () => {
  it('are a warning with the list, not an error', async () => {
    const r = await packFixture('diffusers');
    expect(r.warnings).toContain('the WebGPU EP lacks ConstantOfShape (text_encoder, unet, vae_encoder), Trilu (text_encoder): those nodes run on the CPU EP, with copies between GPU and CPU memory around them');
    const te = r.parts.find((p) => p.part === 'text_encoder')!;
    expect([...te.lackingOps.keys()]).toEqual(['ConstantOfShape', 'Trilu']);
  });
});

describe('--hypernet', () => {
  async function hypernetFor(layerCount: 'matching' | 'unet-only'): Promise<{ path: string; layers: number }> {
    const probe = await packFixture('diffusers', { textEncoderLora: true });
    const all = probe.manifest.lora.layers;
    const layers = layerCount === 'matching' ? all : all.filter((l) => l.target === 'unet');
    const path = join(tempDir('hypernet'), 'hypernet.onnx');
    writeFileSync(path, encodeModel(buildHypernet(TINY_HYPERNET, layers, { seed: 4 }).builder.toModel({ opset: 17 })));
    return { path, layers: layers.length };
  }

  it('a graph that meets the contract for this pack is copied in and predicts a LiDB', async () => {
    const { path } = await hypernetFor('matching');
    const r = await packFixture('diffusers', { textEncoderLora: true, hypernet: path });
    expect(r.manifest.hypernet).toMatchObject({ model: { file: 'hypernet/model.onnx' }, imageSize: 64, refinementSteps: 4 });
    const pack = await loadPackFromDisk(r.dir);
    const personalizer = await createPersonalizer(createNodeRuntime({ backend: 'cpu' }), pack);
    try {
      const face = { width: 64, height: 64, data: new Uint8ClampedArray(64 * 64 * 4).map((_, i) => (i * 37) % 251) };
      const lidb = await personalizer.predict(face);
      expect(lidb.layers.size).toBe(88);
      expect([...lidb.layers.values()].some((w) => w.uTrain.some((v) => v !== 0))).toBe(true);
    } finally {
      await personalizer.release();
    }
  });

  it('a graph made for another layer list is refused, saying what the pack needs', async () => {
    const { path, layers } = await hypernetFor('unet-only');
    expect(layers).toBe(80);
    const err = await refusal(fixture('diffusers'), { hypernet: path, textEncoderLora: true });
    expect(err.kind).toBe('hypernet');
    expect(err.message).toBe('--hypernet: lidb_down must be float32 [88, 16] (one row per LoRA layer of this pack, aMax wide), it is float32 [80, 16] (contract: src/models/hypernet.ts)');
  });

  it('a graph with the wrong input is refused', async () => {
    const b = buildHypernet({ ...TINY_HYPERNET }, sd15LoraLayers().slice(0, 2), { seed: 1 }).builder;
    b.inputs[0].name = 'image';
    for (const n of b.nodes) n.input = n.input!.map((x) => (x === 'pixel_values' ? 'image' : x));
    const path = join(tempDir('hypernet'), 'bad.onnx');
    writeFileSync(path, encodeModel(b.toModel({ opset: 17 })));
    const err = await refusal(fixture('diffusers'), { hypernet: path });
    expect(err.message).toBe('--hypernet: the graph must take exactly one input pixel_values, it takes image (contract: src/models/hypernet.ts)');
  });
});

describe('the CLI', () => {
  it('packs, prints the summary and lists the pack in index.json', async () => {
    const root = tempDir('cli');
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const code = await packCli(['--from', fixture('optimum'), '--out', join(root, 'models/sd-opt'), '--text-encoder-lora', '--fp16', '--name', 'Fixture']);
      expect(code).toBe(0);
      const printed = log.mock.calls.map((c) => String(c[0])).join('\n');
      expect(printed).toMatch(/pack "sd-opt" → /);
      expect(printed).toMatch(/unet: unet\/model\.onnx \(external file model\.onnx_data\), 13\.6K parameters, found 32 UNet LoRA layers/);
      expect(printed).toMatch(/unet\/weights\.0\.bin +\d+\.\d KiB/);
      expect(printed).toMatch(/ops the WebGPU EP lacks \(run on the CPU EP\): ConstantOfShape ×\d+, Trilu ×2/);
      expect(printed).toMatch(/weights float16, chunks/);
      expect(printed).toMatch(/compute: float16 unet, textEncoder, vaeDecoder, vaeEncoder, train \(float32 inputs\/outputs, normalizations and timestep embedding, the train graphs with a static loss scale\)\n/);
      const index = JSON.parse(readFileSync(join(root, 'models/index.json'), 'utf8'));
      expect(index.packs).toEqual([expect.objectContaining({ id: 'sd-opt', path: 'sd-opt/manifest.json', name: 'Fixture' })]);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  });

  it('exits 2 with usage on bad flags and 1 with the reason on a bad export', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await packCli(['--out', join(tempDir('cli'), 'x')])).toBe(2);
      expect(String(err.mock.calls.at(-1)![0])).toMatch(/^hyperbooth pack: missing --from <export dir>\n\nusage:/);
      expect(await packCli(['--from', fixture('diffusers'), '--out', join(tempDir('cli'), 'x'), '--chunk-mb', 'lots'])).toBe(2);
      expect(await packCli(['--from', fixture('ort-optimized'), '--out', join(tempDir('cli'), 'x')])).toBe(1);
      expect(String(err.mock.calls.at(-1)![0])).toMatch(/^hyperbooth pack: the export at .* lacks text_encoder\/model\.onnx/);
    } finally {
      err.mockRestore();
    }
  });
});
