// A manifest is untrusted input: every file must resolve under the pack's own folder, and every
// field the app sizes buffers or loops by is checked against MANIFEST_LIMITS, each failure a
// ManifestError naming the field. Every manifest the project makes stays accepted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPack } from '../../../src/packs/loadPack';
import { MemoryPackCache } from '../../../src/packs/cache';
import { ManifestError, MANIFEST_LIMITS, packFileUrl, validateManifest, type PackManifest } from '../../../src/packs/manifest';
import { thrownBy } from '../thrownBy';
import { makeFixturePack, serveDir, type StaticServer } from './fixturePack';

const PUBLIC = fileURLToPath(new URL('../../../public/models', import.meta.url));
const tiny = JSON.parse(readFileSync(join(PUBLIC, 'tiny/manifest.json'), 'utf8')) as PackManifest;

let fixture: { dir: string; manifest: PackManifest };
beforeAll(async () => { fixture = await makeFixturePack(); });
afterAll(() => rmSync(fixture.dir, { recursive: true, force: true }));

function refusal(edit: (m: any) => void, base: PackManifest = tiny): ManifestError {
  const m = structuredClone(base);
  edit(m);
  return thrownBy(ManifestError, () => validateManifest(m, 'm.json'));
}

describe('manifests the project makes', () => {
  it('public/models/tiny and the loader test fixture are accepted as they are', () => {
    expect(validateManifest(structuredClone(tiny)).id).toBe('tiny');
    expect(validateManifest(structuredClone(fixture.manifest)).id).toBe('fixture');
  });
});

describe('styles', () => {
  it('the embedded pack lists its 8 trained styles; a manifest without styles is still accepted', () => {
    expect(tiny.styles?.map((s) => s.id)).toEqual(['photo', 'black-and-white', 'pencil-sketch', 'pop-art', 'pixel-art', 'watercolor', 'neon', 'oil-painting']);
    const { styles: _s, ...without } = structuredClone(tiny);
    expect(validateManifest(without).styles).toBeUndefined();
  });

  it.each([
    ['an empty list', (m: any) => { m.styles = []; }, 'styles', /list of 1 to 64 styles/],
    ['a prompt without the trigger placeholder', (m: any) => { m.styles[2].prompt = 'a pencil sketch of a face'; }, 'styles[2].prompt', /must contain \{trigger\}/],
    ['a repeated id', (m: any) => { m.styles[1].id = 'photo'; }, 'styles[1].id', /listed twice/],
    ['an id with spaces', (m: any) => { m.styles[0].id = 'Oil Painting'; }, 'styles[0].id', /lower-case letters/],
    ['a missing label', (m: any) => { delete m.styles[3].label; }, 'styles[3].label', /missing/],
    ['a style that is not an object', (m: any) => { m.styles[0] = 'photo'; }, 'styles[0]', /must be an object/],
    ['too many styles', (m: any) => { m.styles = Array.from({ length: 65 }, (_, i) => ({ id: `s${i}`, label: 'x', prompt: 'a {trigger} face' })); }, 'styles', /list of 1 to 64/],
  ])('%s is refused, naming the field', (_what, edit, field, why) => {
    const e = refusal(edit);
    expect(e.field).toBe(field);
    expect(e.message).toMatch(why);
  });
});

describe('file paths', () => {
  it.each([
    '\\\\evil.example\\x', 'http:evil.example/x', 'https://tracker.example/te.onnx', '//evil.example/x',
    '%2e%2e/%2e%2e/x', '../x', 'unet/../../x', '/etc/passwd', 'unet\\model.onnx', './x', 'a//b', 'a/', '.hidden',
    'C:/x', 'x?y=1', 'x#y', 'café.onnx', '', 'x'.repeat(MANIFEST_LIMITS.pathChars + 1),
  ])('%j is refused, naming the file entry', (path) => {
    const err = refusal((m) => { m.files[3].path = path; });
    expect(err.field).toBe('files[3].path');
    expect(err.message).toMatch(/^m\.json: file .*: path must stay inside the pack/);
  });

  it('packFileUrl resolves plain paths under the base and refuses everything else after resolving', () => {
    expect(packFileUrl('https://cdn.example/packs/tiny/', 'unet/model.onnx')).toBe('https://cdn.example/packs/tiny/unet/model.onnx');
    expect(packFileUrl('file:///srv/pack/', 'a.b-c_d/e')).toBe('file:///srv/pack/a.b-c_d/e');
    for (const p of ['\\\\evil.example\\x', 'http:evil.example/x', 'https://tracker.example/te.onnx', '%2e%2e/%2e%2e/x', '..', '.']) {
      expect(() => packFileUrl('https://cdn.example/packs/tiny/', p)).toThrow(ManifestError);
    }
  });

  it('a duplicate path is refused', () => {
    const err = refusal((m) => { m.files.push({ ...m.files[2] }); });
    expect(err.field).toBe('files[11].path');
    expect(err.message).toBe('m.json: file text_encoder/grad.onnx is listed twice');
  });

  it('graph entries that are not strings are refused, naming them', () => {
    expect(refusal((m) => { m.models.unet.externalData = [null]; }).field).toBe('models.unet.externalData[0]');
    expect(refusal((m) => { m.models.unet.externalData = 'unet/weights.bin'; }).field).toBe('models.unet.externalData');
    expect(refusal((m) => { m.tokenizer = 7; }).field).toBe('tokenizer');
  });
});

describe('the loader fetches only under the pack folder', () => {
  let server: StaticServer;
  beforeAll(async () => { server = await serveDir(fixture.dir); });
  afterAll(() => server.close());

  it('a manifest naming https://tracker.example/te.onnx fetches nothing but the manifest', async () => {
    const m = structuredClone(fixture.manifest) as any;
    m.models.textEncoder.file = 'https://tracker.example/te.onnx';
    m.files[0].path = 'https://tracker.example/te.onnx';
    await writeFile(join(fixture.dir, 'hostile.json'), JSON.stringify(m));
    const fetched: string[] = [];
    const spy: typeof fetch = (input, init) => { fetched.push(String(input)); return fetch(input, init); };
    const err = await loadPack(`${server.url}hostile.json`, { fetch: spy, cache: new MemoryPackCache() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManifestError);
    expect((err as ManifestError).field).toBe('files[0].path');
    expect(fetched).toEqual([`${server.url}hostile.json`]);
  });
});

describe('fields and size caps', () => {
  it.each([
    ['files: [null]', (m: any) => { m.files = [null]; }, 'files[0]', /files\[0\] must be an object with path, size and sha256, not null/],
    ['a null model entry', (m: any) => { m.models.unet = null; }, 'models.unet', /missing models\.unet\.file/],
    ['models: null', (m: any) => { m.models = null; }, 'models', /models must be an object, not null/],
    ['latent.channels = 1e9', (m: any) => { m.latent.channels = 1e9; }, 'latent.channels', /latent\.channels = 1000000000 must be an integer in \[1, 64\]/],
    ['image.width = -5', (m: any) => { m.image.width = -5; }, 'image.width', /image\.width = -5 must be an integer in \[1, 8192\]/],
    ['text.maxLength = 1e12', (m: any) => { m.text.maxLength = 1e12; }, 'text.maxLength', /text\.maxLength = 1000000000000 must be an integer in \[1, 1024\]/],
    ['numTrainTimesteps = 0', (m: any) => { m.schedule.numTrainTimesteps = 0; }, 'schedule.numTrainTimesteps', /schedule\.numTrainTimesteps = 0 must be an integer/],
    ['a size of 2^45', (m: any) => { m.files[1].size = 2 ** 45; }, 'files[1].size', /file lidb\/aux\.safetensors: size 35184372088832 is above the 4 GiB a file may have/],
    ['a fractional size', (m: any) => { m.files[1].size = 1.5; }, 'files[1].size', /bad size 1\.5/],
    ['files adding up past the cap', (m: any) => { for (const f of m.files) f.size = 2 ** 32; for (let i = 0; i < 10; i++) m.files.push({ ...m.files[0], path: `pad/${i}` }); }, 'files', /add up to \d+ bytes, above the 64 GiB/],
    ['too many files', (m: any) => { m.files = Array.from({ length: 4097 }, (_, i) => ({ ...m.files[0], path: `f/${i}` })); }, 'files', /lists 4097 files, more than 4096/],
    ['a NaN beta', (m: any) => { m.schedule.betaStart = 'NaN'; }, 'schedule.betaStart', /must be a number in \(0, 1\)/],
    ['betas the wrong way round', (m: any) => { m.schedule.betaStart = 0.5; }, 'schedule.betaStart', /above betaEnd/],
    ['an unknown schedule', (m: any) => { m.schedule.betaSchedule = 'cosine'; }, 'schedule.betaSchedule', /must be one of linear, scaled_linear/],
    ['an unknown input dtype', (m: any) => { m.text.inputDtype = 'int8'; }, 'text.inputDtype', /must be one of int32, int64/],
    ['latent.scale = Infinity (as JSON 1e999)', (m: any) => { m.latent.scale = JSON.parse('1e999'); }, 'latent.scale', /must be a positive number/],
    ['a null lora layer', (m: any) => { m.lora.layers[5] = null; }, 'lora.layers[5]', /lora\.layers\[5\] must be an object, not null/],
    ['a duplicate lora layer', (m: any) => { m.lora.layers.push({ ...m.lora.layers[0] }); }, `lora.layers[${tiny.lora.layers.length}].name`, /is listed twice/],
    ['a layer 1e9 wide', (m: any) => { m.lora.layers[0].nIn = 1e9; }, 'lora.layers[0].nIn', /must be an integer in \[1, 65536\]/],
    ['too many layers', (m: any) => { m.lora.layers = Array.from({ length: 4097 }, (_, i) => ({ ...m.lora.layers[0], name: `l${i}` })); }, 'lora.layers', /more than 4096/],
    ['a train step count of 1e9', (m: any) => { m.train.defaults.steps = 1e9; }, 'train.defaults.steps', /up to 100000/],
    ['hypernet: null', (m: any) => { m.hypernet = null; }, 'hypernet.model', /missing hypernet\.model\.file/],
    ['lidb: 5', (m: any) => { m.lidb = 5; }, 'lidb.aux', /missing lidb\.aux/],
    ['an id with a slash', (m: any) => { m.id = '../tiny'; }, 'id', /may only hold letters/],
    ['a name of 10^6 characters', (m: any) => { m.name = 'x'.repeat(1e6); }, 'name', /longer than 200 characters/],
  ])('%s', (_what, edit, field, message) => {
    const err = refusal(edit);
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
  });

  it('something not an object at all', () => {
    for (const v of [null, [], 'manifest', 3]) expect(() => validateManifest(v)).toThrow(ManifestError);
  });
});
