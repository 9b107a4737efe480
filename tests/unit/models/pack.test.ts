import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { run as makeTinyPack } from '../../../tools/commands/makeTinyPack';
import { buildTinyPack, promptWords, TINY_FILES } from '../../../src/models';
import { validateManifest } from '../../../src/packs/manifest';
import { loadPackFromDisk } from '../../../src/packs/node';
import { decodeModel } from '../../../src/onnx';
import { manifestBytes, packSize, sha256HexSync, type PackBuild } from '../../../src/packs/writePack';
import { ClipTokenizer } from '../../../src/diffusion/tokenizer';
import { datasetWords } from '../../../src/dataset';
import { STYLE_PRESETS, stylePrompt, TRIGGER_PLACEHOLDER } from '../../../src/packs/stylePresets';

const COMMITTED = join(__dirname, '../../../public/models/tiny');
const INDEX = join(__dirname, '../../../public/models/index.json');
const PROVENANCE_FILE = 'training.json';
const RETRAIN = 'the generator changed: rebuild and retrain the pack as public/models/tiny/training.json records (src/training/README.md)';

interface Provenance {
  manifestSha256: string;
  stages: { stage: string; command: string; seconds: number; sha256?: Record<string, string> }[];
}

/** A graph without its weight values: nodes, inputs, outputs, initializer names/types/shapes. */
function graphSignature(bytes: Uint8Array): unknown {
  const g = decodeModel(bytes).graph!;
  const value = (v: { name?: string | null; type?: unknown }) => JSON.stringify([v.name, v.type]);
  return {
    nodes: (g.node ?? []).map((n) => JSON.stringify([n.opType, n.domain ?? '', n.input, n.output, (n.attribute ?? []).map((a) => JSON.stringify(a))])),
    inputs: (g.input ?? []).map(value),
    outputs: (g.output ?? []).map(value),
    initializers: (g.initializer ?? []).map((t) => JSON.stringify([t.name, t.dataType, (t.dims ?? []).map(Number), t.dataLocation ?? 0])),
  };
}

let pack: PackBuild;
beforeAll(() => { pack = buildTinyPack(); });

function listFiles(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p, root) : [relative(root, p).split('\\').join('/')];
  });
}

describe('tiny pack', () => {
  it('is byte-for-byte deterministic', () => {
    const again = buildTinyPack();
    expect(Buffer.from(manifestBytes(again.manifest)).equals(Buffer.from(manifestBytes(pack.manifest)))).toBe(true);
    for (const path of Object.keys(pack.files)) expect(sha256HexSync(again.files[path]), path).toBe(sha256HexSync(pack.files[path]));
    const other = buildTinyPack({ seed: 7 });
    expect(sha256HexSync(other.files[TINY_FILES.unet])).not.toBe(sha256HexSync(pack.files[TINY_FILES.unet]));
    expect(sha256HexSync(other.files[TINY_FILES.tokenizer])).toBe(sha256HexSync(pack.files[TINY_FILES.tokenizer]));
  });

  it('has a valid manifest that lists every file with its size and sha256', () => {
    const m = validateManifest(JSON.parse(new TextDecoder().decode(manifestBytes(pack.manifest))));
    expect(m.files.map((f) => f.path).sort()).toEqual(Object.keys(pack.files).sort());
    for (const f of m.files) {
      expect(f.size).toBe(pack.files[f.path].byteLength);
      expect(f.sha256).toBe(sha256HexSync(pack.files[f.path]));
    }
    expect(m).toMatchObject({
      format: 'hyperbooth-pack/1', id: 'tiny', description: "Random-weight miniature of SD1.5's architecture",
      image: { width: 64, height: 64 }, latent: { channels: 4, width: 8, height: 8, scale: 0.18215 },
      schedule: { numTrainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012, betaSchedule: 'scaled_linear', predictionType: 'epsilon' },
      text: { maxLength: 77, hiddenSize: 32, inputDtype: 'int32' }, unet: { timestepDtype: 'float32', timestepShape: 'batch' },
      vaeEncoderOutput: 'moments', trigger: 'sks', tokenizer: TINY_FILES.tokenizer,
    });
    // issue 4 budget: the fine-tune graphs share the UNet/text-encoder weights files, the rest is graph structure
    expect(packSize(pack)).toBeLessThan(25 * 1024 * 1024);
  });

  it('public/models/tiny is the trained pack: manifest hashes hold, same graphs as a fresh build, trained weights', async () => {
    const committed = await loadPackFromDisk(COMMITTED);
    const m = committed.manifest;
    expect(listFiles(COMMITTED).sort()).toEqual(['manifest.json', PROVENANCE_FILE, ...m.files.map((f) => f.path)].sort());
    // the generator's structure, the trained values: every graph has the fresh build's nodes,
    // inputs, outputs and initializer names/shapes (a change to the generator means retraining)
    expect(m.files.map((f) => f.path).sort()).toEqual(pack.manifest.files.map((f) => f.path).sort());
    for (const f of m.files.filter((x) => x.path.endsWith('.onnx'))) {
      expect(graphSignature(committed.files(f.path)), `${f.path}: ${RETRAIN}`).toEqual(graphSignature(pack.files[f.path]));
    }
    for (const path of [TINY_FILES.tokenizer, m.lidb!.aux]) {
      expect(sha256HexSync(committed.files(path)), `${path}: ${RETRAIN}`).toBe(sha256HexSync(pack.files[path]));
    }
    for (const path of ['unet/weights.bin', 'text_encoder/weights.bin', 'vae_decoder/model.onnx', 'vae_encoder/model.onnx', 'hypernet/model.onnx']) {
      expect(sha256HexSync(committed.files(path)), `${path} still holds the random weights`).not.toBe(sha256HexSync(pack.files[path]));
    }
    const { files: _a, name: _b, description: _c, notice, latent, ...rest } = m;
    const { files: _d, name: _e, description: _f, latent: freshLatent, ...freshRest } = pack.manifest;
    expect(rest).toEqual(freshRest);
    expect({ ...latent, scale: 0 }).toEqual({ ...freshLatent, scale: 0 });
    expect(notice).toMatch(/synthetic/);
    expect(m.name).not.toMatch(/random/i);

    // provenance: the commands that made these bytes, bound to this manifest
    const prov = JSON.parse(readFileSync(join(COMMITTED, PROVENANCE_FILE), 'utf8')) as Provenance;
    expect(prov.manifestSha256, `${PROVENANCE_FILE} describes another manifest`).toBe(sha256HexSync(readFileSync(join(COMMITTED, 'manifest.json'))));
    // a resumed stage is recorded once per segment (tools/train-tiny-pack.sh --resume)
    // (DECODER_STEPS > 0 adds the decoder's fine-tune, written onto the finished pack; CHECK_IDS > 0
    // the held-out θ* and the hypernetwork check)
    const recipe = ['make-tiny-pack', 'dataset', 'base (vae)', 'base (unet)', 'lidb', 'hypernet'];
    const check = ['dataset (held-out)', 'lidb (held-out)', 'check-hypernet'];
    expect([recipe, [...recipe, 'base (decoder)'], [...recipe, ...check], [...recipe, 'base (decoder)', ...check]])
      .toContainEqual([...new Set(prov.stages.map((st) => st.stage))]);
    for (const st of prov.stages) expect(st.command, st.stage).toMatch(/^npx hyperbooth /);
    for (const st of prov.stages) for (const h of Object.values(st.sha256 ?? {})) expect(h, st.stage).toMatch(/^[0-9a-f]{64}$/);
    // the scale is make-tiny-pack's (--image-size, --vae-blocks, --latent-channels)
    expect(prov.stages[0].command).toMatch(/^npx hyperbooth make-tiny-pack --out \S+ --no-index( --[a-z-]+ \S+)*$/);

    const index = JSON.parse(readFileSync(INDEX, 'utf8')) as { packs: { id: string; path: string; name: string; size: number }[] };
    const size = m.files.reduce((a, f) => a + f.size, 0) + readFileSync(join(COMMITTED, 'manifest.json')).length;
    expect(index.packs.find((p) => p.id === 'tiny')).toEqual({ id: 'tiny', path: 'tiny/manifest.json', name: m.name, size });
    expect(size).toBeLessThan(25 * 1024 * 1024);
  });

  it('tokenizes every style preset word, caption word and the trigger to a single token', () => {
    const tok = ClipTokenizer.fromJSON(new TextDecoder().decode(pack.files[TINY_FILES.tokenizer]));
    expect(promptWords()).toContain('sks');
    // the usual presets and the pack's own trained styles (its manifest's list)
    for (const p of [...STYLE_PRESETS, ...pack.manifest.styles!]) {
      expect(p.prompt).toContain(TRIGGER_PLACEHOLDER);
      const text = stylePrompt(p, pack.manifest.trigger);
      const words = text.toLowerCase().split(/\s+/);
      expect(tok.tokenize(text), text).toHaveLength(words.length);
      expect(tok.decode(tok.encode(text).ids)).toBe(text.toLowerCase());
    }
    expect(tok.tokenize('a sks face')).toHaveLength(3);
    // the pack is trained on the dataset's captions: each of their words must be one token
    for (const w of datasetWords()) expect(tok.tokenize(w), w).toHaveLength(1);
    expect(new Set(STYLE_PRESETS.map((p) => p.id)).size).toBe(STYLE_PRESETS.length);
  });

  it('make-tiny-pack writes the fresh build (where training starts) and its index entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tiny-pack-'));
    try {
      const log = console.log;
      console.log = () => {};
      try {
        expect(await makeTinyPack(['--out', join(dir, 'tiny')])).toBe(0);
      } finally {
        console.log = log;
      }
      expect(readFileSync(join(dir, 'tiny', 'manifest.json')).equals(Buffer.from(manifestBytes(pack.manifest)))).toBe(true);
      for (const f of pack.manifest.files) expect(sha256HexSync(readFileSync(join(dir, 'tiny', f.path))), f.path).toBe(f.sha256);
      const entry = (JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { packs: { id: string }[] }).packs.find((p) => p.id === 'tiny');
      expect(entry).toEqual({ id: 'tiny', path: 'tiny/manifest.json', name: pack.manifest.name, size: packSize(pack) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
