// An export's external-data entries are read only from inside the export: locations that climb
// out (`../../secret.txt`), absolute paths, symlinks to outside files, and byte ranges the file
// does not have are refused with a PackInputError naming the graph and tensor; no pack is left.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeModel, encodeModel, externalLocation, onnx, type TensorProto } from '../../../src/onnx';
import { packExport, PackInputError } from '../../../src/packer';
import { confinedExternalFiles } from '../../../src/packer/externalData';
import { copyExport, removeTempDirs, tempDir } from './helpers';

afterAll(removeTempDirs);

const SECRET = 'the password is hunter2, do not pack me';

/** A copy of the diffusers export whose UNet's largest external tensor is re-pointed by `edit`. */
function exportWith(edit: (kv: Map<string, string>, dir: string) => void): string {
  const dir = copyExport('diffusers');
  const path = join(dir, 'unet/model.onnx');
  const model = decodeModel(readFileSync(path));
  const external = (model.graph!.initializer ?? []).filter((t) => externalLocation(t));
  const biggest = external.reduce((a, b) => (externalLocation(a)!.length! >= externalLocation(b)!.length! ? a : b));
  const kv = new Map((biggest.externalData ?? []).map((e) => [e.key!, e.value!]));
  edit(kv, dir);
  (biggest as TensorProto).externalData = [...kv].map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }));
  writeFileSync(path, encodeModel(model));
  return dir;
}

async function refusal(dir: string): Promise<PackInputError> {
  const out = join(tempDir('refused'), 'pack');
  const err = await packExport({ from: dir, out, imageSize: 64 }).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(PackInputError);
  expect(existsSync(out)).toBe(false);
  return err as PackInputError;
}

/** a secret file beside the export folder, where `../../secret.txt` from unet/ lands */
function plantSecret(dir: string): string {
  const path = resolve(dir, '..', 'secret.txt');
  writeFileSync(path, SECRET.repeat(4096));
  return path;
}

describe('external data locations', () => {
  it('refuses ../../secret.txt, though the file is there and big enough', async () => {
    const dir = exportWith((kv, d) => {
      plantSecret(d);
      kv.set('location', '../../secret.txt');
      kv.set('offset', '0');
    });
    const err = await refusal(dir);
    expect(err.kind).toBe('external-data');
    expect(err.message).toMatch(/^unet\/model\.onnx keeps tensor \S+ at "\.\.\/\.\.\/secret\.txt", which climbs out of the graph's folder with \.\./);
  });

  it('refuses absolute paths, POSIX and Windows', async () => {
    for (const location of ['/etc/hostname', 'C:\\Windows\\win.ini', '\\\\server\\share\\w.bin']) {
      const err = await refusal(exportWith((kv) => kv.set('location', location)));
      expect(err.kind).toBe('external-data');
      expect(err.message).toContain('an absolute path');
    }
  });

  it('refuses a symlink inside the export that points outside it', async () => {
    const dir = exportWith((kv, d) => {
      symlinkSync(plantSecret(d), join(d, 'unet/linked.pb'));
      kv.set('location', 'linked.pb');
      kv.set('offset', '0');
    });
    const err = await refusal(dir);
    expect(err.kind).toBe('external-data');
    expect(err.message).toMatch(/"linked\.pb", a link to .*secret\.txt, outside the export/);
  });

  it('accepts a symlink that stays inside the export', async () => {
    const dir = exportWith((kv, d) => {
      mkdirSync(join(d, 'blobs'));
      writeFileSync(join(d, 'blobs/w.pb'), readFileSync(join(d, 'unet/weights.pb')));
      symlinkSync(join(d, 'blobs/w.pb'), join(d, 'unet/linked.pb'));
      kv.set('location', 'linked.pb');
    });
    const r = await packExport({ from: dir, out: join(tempDir('ok'), 'pack'), imageSize: 64 });
    expect(r.manifest.models.unet.file).toBe('unet/model.onnx');
  });
});

describe('external data ranges', () => {
  it.each([
    ['-4', /with offset -4, which is not a byte position/],
    ['1.5', /with offset 1\.5, which is not a byte position/],
    ['x', /with offset NaN, which is not a byte position/],
    ['1e300', /with offset 1e\+300, which is not a byte position/],
  ])('offset %s is a typed error, not a RangeError', async (offset, message) => {
    const err = await refusal(exportWith((kv) => kv.set('offset', offset)));
    expect(err.kind).toBe('external-data');
    expect(err.message).toMatch(message);
  });

  it('a negative length, and a range past the end of the file, are refused', async () => {
    const neg = await refusal(exportWith((kv) => kv.set('length', '-100')));
    expect(neg.message).toMatch(/with length -100, which is not a byte count/);
    const past = await refusal(exportWith((kv) => kv.set('offset', String(2 ** 40))));
    expect(past.kind).toBe('missing-part');
    expect(past.message).toMatch(/^unet\/weights\.pb ends at byte \d+, but unet\/model\.onnx reads tensor \S+ up to byte 10995116\d+ \(a cut download\?\)$/);
  });

  it('the reader itself checks every range it is asked for (the chunk writer reads through it)', () => {
    const dir = copyExport('diffusers');
    const files = confinedExternalFiles(join(dir, 'unet/model.onnx'), dir, 'unet/model.onnx');
    const size = files.size('weights.pb', 't');
    expect(files.read('weights.pb', size - 4, 4)).toHaveLength(4);
    expect(() => files.read('weights.pb', -1, 4)).toThrow(PackInputError);
    expect(() => files.read('weights.pb', size - 3, 4)).toThrow(/ends at byte/);
    expect(() => files.read('../model_index.json', 0, 4)).toThrow(/climbs out/);
  });
});
