// Random weights for weightless graphs (src/packer/sd15Shapes.ts builds SD1.5's with dims
// only): written straight into one external-data file, a tensor at a time, so SD1.5's 3.4 GB
// of float32 never sit in this process's memory (nor in a >2 GB protobuf). The values are
// uniform with the variance of PyTorch's default init scale (1/√fan_in), 1-D scales 1 and shifts
// 0: a run stays finite and free of subnormals, whose slow paths would distort the timings.
import { closeSync, openSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { encodeModel, onnx, tensorDims, type ModelProto, type TensorProto } from '../../../src/onnx';
import { writeFileAtomic } from '../../../src/files/atomicWrite';
import { float32ToFloat16 } from '../../../src/onnx/float16';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
const INLINE_BELOW = 1024;

/** A seeded xorshift32 filling `out` with uniform values in [−a, a]. */
function fillUniform(out: Float32Array, a: number, seed: number): void {
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = a * ((s / 2 ** 31) - 1);
  }
}

function valuesFor(t: TensorProto, seed: number): Float32Array {
  const dims = tensorDims(t);
  const n = dims.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (dims.length <= 1) {
    // norm scales 1, biases and shifts 0
    if (/(weight|gamma|scale)(::fp16)?$/i.test(t.name ?? '')) out.fill(1);
    return out;
  }
  // Conv [out, in, kh, kw]: fan-in in·kh·kw; MatMul [in, out]: in
  const fanIn = dims.length === 2 ? dims[0] : n / dims[0];
  fillUniform(out, Math.sqrt(3 / fanIn), seed);
  return out;
}

/**
 * Writes `models` (which share their weights by name, the first holding them all) as .onnx files
 * `paths` with one `<first>.data` beside them: every float32 or float16 initializer that has no
 * data gets random values, external from 1 KiB up. Initializers with data keep it (inline).
 */
export function writeWithRandomWeights(models: ModelProto[], paths: string[], seed = 1): void {
  const location = `${basename(paths[0])}.data`;
  const fd = openSync(join(dirname(paths[0]), location), 'w');
  const placed = new Map<string, { offset: number; length: number }>();
  const inline = new Map<string, Uint8Array>();
  let offset = 0, k = 0;
  try {
    for (const t of models[0].graph?.initializer ?? []) {
      const hasData = (t.rawData?.length ?? 0) > 0 || (t.floatData?.length ?? 0) > 0 || (t.int64Data?.length ?? 0) > 0 || (t.int32Data?.length ?? 0) > 0 || (t.externalData?.length ?? 0) > 0;
      if (hasData) continue;
      if (t.dataType !== FLOAT && t.dataType !== FLOAT16) throw new Error(`initializer ${t.name} has no data and is not float32 or float16`);
      const values = valuesFor(t, seed + k++);
      const bytes = new Uint8Array((t.dataType === FLOAT16 ? float32ToFloat16(values) : values).buffer);
      if (bytes.length < INLINE_BELOW) { inline.set(t.name!, bytes); continue; }
      writeSync(fd, bytes, 0, bytes.length, offset);
      placed.set(t.name!, { offset, length: bytes.length });
      offset += bytes.length;
    }
  } finally {
    closeSync(fd);
  }
  models.forEach((m, i) => {
    const initializer = (m.graph?.initializer ?? []).map((t) => {
      const at = placed.get(t.name!);
      if (at) {
        return onnx.TensorProto.create({
          name: t.name, dataType: t.dataType, dims: t.dims, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
          externalData: [
            onnx.StringStringEntryProto.create({ key: 'location', value: location }),
            onnx.StringStringEntryProto.create({ key: 'offset', value: String(at.offset) }),
            onnx.StringStringEntryProto.create({ key: 'length', value: String(at.length) }),
          ],
        });
      }
      const bytes = inline.get(t.name!);
      return bytes ? onnx.TensorProto.create({ name: t.name, dataType: t.dataType, dims: t.dims, rawData: bytes }) : t;
    });
    writeFileAtomic(paths[i], encodeModel({ ...m, graph: { ...m.graph!, initializer } }));
  });
}
