// External weights of an export, read only from inside the export: an ONNX file names its
// external data by a free-form `location` string and byte range, so a hostile or broken export
// could point at `../../secret.txt`, an absolute path, or a symlink out of the folder, and have
// that file copied into the pack. Every location and range is checked before a byte is read.
import { closeSync, existsSync, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, win32 } from 'node:path';
import { externalLocation, type ExternalDataReader, type TensorProto } from '../onnx';
import { PackInputError } from './errors';

export interface ExternalFiles {
  /** the checked absolute path of `location`; throws PackInputError if it leaves the root or is missing */
  resolve(location: string, tensor: string): string;
  /** byte size of the file at `location` */
  size(location: string, tensor: string): number;
  /** `[offset, end)` after checking both are whole, non-negative and within the file */
  range(location: string, tensor: string, offset: number, length: number | undefined): [number, number];
  read: ExternalDataReader;
}

/**
 * External data of the graph at `modelPath`, confined to `root` (the export folder, or the
 * hypernetwork's own folder). `name` is how messages call the graph.
 */
export function confinedExternalFiles(modelPath: string, root: string, name: string): ExternalFiles {
  const realRoot = realpathSync(root);
  const dir = dirname(modelPath);
  const checked = new Map<string, { path: string; size: number }>();
  const refuse = (tensor: string, location: string, why: string): never => {
    throw new PackInputError('external-data', `${name} keeps tensor ${tensor} at ${JSON.stringify(location)}, ${why}; the export's weights must be files inside ${root}`);
  };

  function file(location: string, tensor: string): { path: string; size: number } {
    const known = checked.get(location);
    if (known) return known;
    if (typeof location !== 'string' || location.length === 0 || location.includes('\0')) refuse(tensor, String(location), 'which is not a file name');
    if (isAbsolute(location) || win32.isAbsolute(location)) refuse(tensor, location, 'an absolute path');
    if (location.split(/[\\/]/).includes('..')) refuse(tensor, location, 'which climbs out of the graph\'s folder with ..');
    const path = join(dir, location);
    if (!existsSync(path)) {
      throw new PackInputError('missing-part', `${relative(root, path)} is missing (${name} keeps tensor ${tensor} there)`);
    }
    const real = realpathSync(path);
    const rel = relative(realRoot, real);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) refuse(tensor, location, `a link to ${real}, outside the export`);
    if (!statSync(real).isFile()) refuse(tensor, location, 'which is not a regular file');
    const entry = { path: real, size: statSync(real).size };
    checked.set(location, entry);
    return entry;
  }

  function range(location: string, tensor: string, offset: number, length: number | undefined): [number, number] {
    const { size } = file(location, tensor);
    const whole = (v: number) => Number.isSafeInteger(v) && v >= 0;
    if (!whole(offset)) refuse(tensor, location, `with offset ${offset}, which is not a byte position`);
    if (length !== undefined && !whole(length)) refuse(tensor, location, `with length ${length}, which is not a byte count`);
    const end = length === undefined ? size : offset + length;
    if (offset > size || end > size) {
      throw new PackInputError('missing-part', `${relative(root, join(dir, location))} ends at byte ${size}, but ${name} reads tensor ${tensor} up to byte ${Math.max(offset, end)} (a cut download?)`);
    }
    return [offset, end];
  }

  const read: ExternalDataReader = (location, offset, length) => {
    const [begin, end] = range(location, '(external data)', offset, length);
    const fd = openSync(file(location, '(external data)').path, 'r');
    try {
      const buf = new Uint8Array(end - begin);
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, begin + got);
        if (n === 0) throw new PackInputError('missing-part', `${name}: ${location} shrank while being read (ends before byte ${begin + buf.length} of ${fstatSync(fd).size})`);
        got += n;
      }
      return buf;
    } finally {
      closeSync(fd);
    }
  };

  return { resolve: (l, t) => file(l, t).path, size: (l, t) => file(l, t).size, range, read };
}

/** the tensor's external-data entry, with a malformed one (no location) as a PackInputError */
export function externalLocationOf(t: TensorProto, graph: string): ReturnType<typeof externalLocation> {
  try {
    return externalLocation(t);
  } catch (e) {
    throw new PackInputError('external-data', `${graph}: ${(e as Error).message}`);
  }
}
