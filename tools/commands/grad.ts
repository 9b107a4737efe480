// `hyperbooth grad <in.onnx> --wrt a,b [--of out] [--recompute auto|segments.json] [--dim batch=1] --out out.onnx`:
// writes the forward + backward graph. Large weights stay in (or move to) an external data
// file beside the output, copied tensor by tensor, so models over protobuf's 2 GB limit work.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { openAtomic, writeFileAtomic } from '../../src/files/atomicWrite';
import { parseArgs, UsageError } from '../args';
import { buildGradientModel, withFixedDims, type GradientOptions } from '../../src/autodiff';
import { encodeModel, externalLocation, onnx, type ModelProto, type TensorProto } from '../../src/onnx';
import type { ExternalDataReader } from '../../src/onnx';
import { loadModelFile } from '../../src/onnx/fs';

export const summary = 'gradient graph of a model: grad <in.onnx> --wrt a,b [--of out] [--recompute auto] [--dim name=size] --out <out.onnx>';

const USAGE = `usage: hyperbooth grad <in.onnx> --wrt <name>[,<name>...] [--of <output>] [--recompute auto|<segments.json>]
                      [--dim <param>=<size>]... --out <out.onnx>
  --wrt        graph inputs or initializers to differentiate with respect to; outputs <name>_grad
  --of         the output to differentiate (default: the graph's only output); input <of>_grad
  --recompute  'auto' (one segment per Transformer/ResNet block) or a JSON file of node-name lists
  --dim        pin a symbolic dim, e.g. --dim batch=1 (repeatable; comma-separated also works)`;

/** Tensors of at least this many bytes go to the external file. */
const EXTERNAL_THRESHOLD = 1024;
/** An inline model with more initializer bytes than this is written with external data anyway. */
const LARGE_MODEL_BYTES = 512 * 1024 * 1024;

function parseDims(flag: string | true | undefined, extra: string[]): Record<string, number> {
  const specs = [...(typeof flag === 'string' ? [flag] : []), ...extra].flatMap((s) => s.split(',')).filter(Boolean);
  const out: Record<string, number> = {};
  for (const s of specs) {
    const m = /^([^=]+)=(\d+)$/.exec(s.trim());
    if (!m) throw new UsageError(`--dim expects <param>=<size>, got '${s}'`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

function parseRecompute(flag: string | true | undefined): GradientOptions['recompute'] {
  if (flag === undefined) return undefined;
  if (flag === 'auto') return 'auto';
  if (flag === true) throw new UsageError('--recompute needs a value: auto or a JSON file');
  if (!existsSync(flag)) throw new UsageError(`--recompute: '${flag}' is neither 'auto' nor an existing JSON file`);
  const segs = JSON.parse(readFileSync(flag, 'utf8')) as unknown;
  if (!Array.isArray(segs) || !segs.every((s) => Array.isArray(s) && s.every((n) => typeof n === 'string'))) {
    throw new UsageError(`--recompute ${flag}: expected a JSON array of arrays of node names`);
  }
  return segs as string[][];
}

const tensorBytes = (t: TensorProto) => t.rawData?.length ?? 0;

/**
 * Writes `model` to `out` with every initializer of at least EXTERNAL_THRESHOLD bytes in
 * `<out>.data`: tensors already external are copied from their file range by range, inline
 * ones are moved. The model object's initializers are rewritten in place (the CLI owns it).
 */
function saveWithExternalData(out: string, model: ModelProto, readExternal: ExternalDataReader): string[] {
  const location = `${basename(out)}.data`;
  const dataPath = resolve(dirname(out), location);
  const data = openAtomic(dataPath);
  let offset = 0;
  try {
    for (const t of model.graph?.initializer ?? []) {
      const ext = externalLocation(t);
      let bytes: Uint8Array | null = null;
      if (ext) bytes = readExternal(ext.location, ext.offset, ext.length);
      else if (tensorBytes(t) >= EXTERNAL_THRESHOLD) bytes = t.rawData!;
      if (!bytes) continue;
      const pad = (64 - (offset % 64)) % 64;
      if (pad) { data.write(new Uint8Array(pad)); offset += pad; }
      data.write(bytes);
      t.externalData = [
        onnx.StringStringEntryProto.create({ key: 'location', value: location }),
        onnx.StringStringEntryProto.create({ key: 'offset', value: String(offset) }),
        onnx.StringStringEntryProto.create({ key: 'length', value: String(bytes.length) }),
      ];
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.rawData = new Uint8Array(0);
      offset += bytes.length;
    }
    data.commit();
  } catch (e) {
    data.abort();
    throw e;
  }
  writeFileAtomic(out, encodeModel(model));
  return [out, dataPath];
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const dimArgs: string[] = [];
  // repeated --dim flags: parseArgs keeps the last, so collect them all here
  argv.forEach((a, i) => { if (a === '--dim' && argv[i + 1]) dimArgs.push(argv[i + 1]); else if (a.startsWith('--dim=')) dimArgs.push(a.slice(6)); });
  try {
    const [input, ...rest] = args.positional;
    if (!input || rest.length > 0) throw new UsageError(input ? `unexpected arguments: ${rest.join(' ')}` : 'missing <in.onnx>');
    const wrtFlag = args.flags.wrt;
    const outFlag = args.flags.out;
    if (typeof wrtFlag !== 'string') throw new UsageError('missing --wrt <name>[,<name>...]');
    if (typeof outFlag !== 'string') throw new UsageError('missing --out <out.onnx>');
    if (!existsSync(input)) throw new UsageError(`no such file: ${input}`);
    const wrt = wrtFlag.split(',').map((s) => s.trim()).filter(Boolean);
    const recompute = parseRecompute(args.flags.recompute);
    const dims = parseDims(undefined, dimArgs);
    const out = resolve(outFlag);
    if (resolve(input) === out) throw new UsageError('--out must differ from the input file');

    const t0 = performance.now();
    const loaded = loadModelFile(input);
    let model = loaded.model;
    const outputs = (model.graph?.output ?? []).map((o) => o.name ?? '');
    let of: string;
    if (typeof args.flags.of === 'string') of = args.flags.of;
    else if (outputs.length === 1) of = outputs[0];
    else throw new UsageError(`the model has ${outputs.length} outputs (${outputs.join(', ')}): choose one with --of`);
    if (Object.keys(dims).length) model = withFixedDims(model, dims);

    const hadExternal = (model.graph?.initializer ?? []).some((t) => externalLocation(t));
    const forwardNodes = model.graph?.node?.length ?? 0;
    const grad = buildGradientModel(model, {
      of: [of], wrt, recompute, readExternal: loaded.readExternal, onWarning: (m) => console.error(`warning: ${m}`),
    });
    const nodes = grad.graph?.node ?? [];
    const backward = nodes.slice(forwardNodes);
    const ops = new Map<string, number>();
    for (const n of backward) ops.set(n.opType ?? '', (ops.get(n.opType ?? '') ?? 0) + 1);
    const recomputed = backward.filter((n) => (n.name ?? '').endsWith('_recomputed')).length;

    const inlineBytes = (grad.graph?.initializer ?? []).reduce((s, t) => s + tensorBytes(t), 0);
    let written: string[];
    if (hadExternal || inlineBytes > LARGE_MODEL_BYTES) {
      written = saveWithExternalData(out, grad, loaded.readExternal);
    } else {
      writeFileAtomic(out, encodeModel(grad));
      written = [out];
    }
    const ms = performance.now() - t0;
    console.log(`gradient of '${of}' w.r.t. ${wrt.length} name${wrt.length === 1 ? '' : 's'} (opset ${grad.opsetImport?.find((o) => !o.domain)?.version ?? '?'})`);
    console.log(`  forward nodes   ${forwardNodes}`);
    console.log(`  backward nodes  ${backward.length}${recompute ? ` (${recomputed} recomputed forward nodes)` : ''}`);
    console.log(`  ops used        ${[...ops].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}×${v}`).join(' ')}`);
    console.log(`  new input       ${of}_grad`);
    console.log(`  new outputs     ${wrt.map((w) => `${w}_grad`).join(', ')}`);
    console.log(`  written         ${written.join(', ')} in ${(ms / 1000).toFixed(2)} s`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`hyperbooth grad: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`hyperbooth grad: ${(e as Error).message}`);
    return 1;
  }
}
