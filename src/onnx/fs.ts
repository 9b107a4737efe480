// Node-only file helpers (the browser gets bytes from src/packs instead).
import { readFileSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { writeFileAtomic } from '../files/atomicWrite';
import { dirname, join, basename } from 'node:path';
import { decodeModel, encodeModel, encodeModelWithExternalData } from './model';
import type { ModelProto } from './proto';
import type { ExternalDataReader } from './tensor';

/** Reads external tensors straight from disk, one range at a time (no whole-file load). */
export function fileExternalReader(modelPath: string): ExternalDataReader {
  const dir = dirname(modelPath);
  return (location, offset, length) => {
    const fd = openSync(join(dir, location), 'r');
    try {
      const len = length ?? fstatSync(fd).size - offset;
      const buf = new Uint8Array(len);
      let got = 0;
      while (got < len) {
        const n = readSync(fd, buf, got, len - got, offset + got);
        if (n === 0) throw new Error(`external data ${location}: file ends before byte ${offset + len}`);
        got += n;
      }
      return buf;
    } finally {
      closeSync(fd);
    }
  };
}

export function loadModelFile(path: string): { model: ModelProto; readExternal: ExternalDataReader } {
  return { model: decodeModel(readFileSync(path)), readExternal: fileExternalReader(path) };
}

/** Writes `path` and, if `externalThresholdBytes` is given, `<name>.data` beside it. */
export function saveModelFile(path: string, model: ModelProto, externalThresholdBytes?: number): string[] {
  if (externalThresholdBytes === undefined) {
    writeFileAtomic(path, encodeModel(model));
    return [path];
  }
  const location = `${basename(path)}.data`;
  const { model: bytes, data } = encodeModelWithExternalData(model, { location, thresholdBytes: externalThresholdBytes });
  // the data first: a model is never left pointing at external data that is not there yet
  writeFileAtomic(join(dirname(path), location), data);
  writeFileAtomic(path, bytes);
  return [path, join(dirname(path), location)];
}
