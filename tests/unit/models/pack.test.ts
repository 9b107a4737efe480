import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { run as makeTinyPack } from '../../../tools/commands/makeTinyPack';
import { buildTinyPack, promptWords, TINY_FILES } from '../../../src/models';
import { validateManifest } from '../../../src/packs/manifest';
import { manifestBytes, packSize, sha256HexSync, type PackBuild } from '../../../src/packs/writePack';
import { ClipTokenizer } from '../../../src/diffusion/tokenizer';
import { datasetWords } from '../../../src/dataset';
import { STYLE_PRESETS, stylePrompt, TRIGGER_PLACEHOLDER } from '../../../src/pipeline/stylePresets';

const COMMITTED = join(__dirname, '../../../public/models/tiny');
const INDEX = join(__dirname, '../../../public/models/index.json');
const REGENERATE = 'regenerate with `npx hyperbooth make-tiny-pack --out public/models/tiny` and commit it';

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

  it('is what public/models/tiny holds (same files, same sha256)', () => {
    const committed = readFileSync(join(COMMITTED, 'manifest.json'));
    expect(committed.equals(Buffer.from(manifestBytes(pack.manifest))), `manifest.json differs: ${REGENERATE}`).toBe(true);
    for (const f of pack.manifest.files) {
      expect(sha256HexSync(readFileSync(join(COMMITTED, f.path))), `${f.path}: ${REGENERATE}`).toBe(f.sha256);
    }
    expect(listFiles(COMMITTED).sort()).toEqual(['manifest.json', ...pack.manifest.files.map((f) => f.path)].sort());
    const index = JSON.parse(readFileSync(INDEX, 'utf8')) as { packs: { id: string; path: string; name: string; size: number }[] };
    expect(index.packs.find((p) => p.id === 'tiny')).toEqual({ id: 'tiny', path: 'tiny/manifest.json', name: pack.manifest.name, size: packSize(pack) });
  });

  it('tokenizes every style preset word, caption word and the trigger to a single token', () => {
    const tok = ClipTokenizer.fromJSON(new TextDecoder().decode(pack.files[TINY_FILES.tokenizer]));
    expect(promptWords()).toContain('sks');
    for (const p of STYLE_PRESETS) {
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

  it('make-tiny-pack writes the same bytes as the committed pack, and its index entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tiny-pack-'));
    try {
      const log = console.log;
      console.log = () => {};
      try {
        expect(await makeTinyPack(['--out', join(dir, 'tiny')])).toBe(0);
      } finally {
        console.log = log;
      }
      const files = listFiles(join(dir, 'tiny')).sort();
      expect(files).toEqual(listFiles(COMMITTED).sort());
      for (const f of files) {
        expect(readFileSync(join(dir, 'tiny', f)).equals(readFileSync(join(COMMITTED, f))), `${f}: ${REGENERATE}`).toBe(true);
      }
      const tinyEntry = (path: string) => (JSON.parse(readFileSync(path, 'utf8')) as { packs: { id: string }[] }).packs.find((p) => p.id === 'tiny');
      expect(tinyEntry(join(dir, 'index.json'))).toEqual(tinyEntry(INDEX));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
