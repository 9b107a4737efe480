// `hyperbooth grad` on a model with external data: the written gradient graph (with its own
// external data file) computes what the in-memory gradient graph computes; bad input is explained.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../../tools/commands/grad';
import { buildGradientModel } from '../../../src/autodiff';
import { encodeModel, externalLocation, GraphBuilder, type ModelProto } from '../../../src/onnx';
import { loadModelFile, saveModelFile } from '../../../src/onnx/fs';
import type { Feeds } from '../../../src/runtime/types';
import { rng, runtime } from './fdHarness';

const dir = mkdtempSync(join(tmpdir(), 'hyperbooth-grad-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function weights(r: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => r() - 0.5);
}

/** A two-layer MLP with torch-style names whose weights (≥ 1 KB) go to external data. */
function mlp(): ModelProto {
  const r = rng(42);
  const b = new GraphBuilder('mlp');
  const x = b.input('x', 'float32', ['batch', 16]);
  const h = b.scope('layers.0', () => b.op1('Tanh', [b.op1('MatMul', [x, b.param('weight', weights(r, 16 * 32), [16, 32])])]));
  const y = b.scope('layers.1', () => b.op1('MatMul', [h, b.param('weight', weights(r, 32 * 8), [32, 8])]));
  b.output(y, 'y', 'float32', ['batch', 8]);
  b.output(h, 'hidden', 'float32', ['batch', 32]);
  return b.toModel({ opset: 17 });
}

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => { out.push(a.join(' ')); });
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => { err.push(a.join(' ')); });
  try {
    const code = await run(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('hyperbooth grad', () => {
  const input = join(dir, 'in', 'model.onnx');
  saveModelFile(input, mlp(), 1024);

  it('reads a model with external data and writes the gradient graph with its own external data', async () => {
    expect(existsSync(`${input}.data`)).toBe(true);
    const out = join(dir, 'out', 'grad.onnx');
    const res = await capture([input, '--wrt', 'layers.0.weight,layers.1.weight', '--of', 'y', '--out', out]);
    expect(res.code, res.err).toBe(0);
    expect(res.out).toMatch(/forward nodes\s+5/);
    expect(res.out).toMatch(/backward nodes\s+\d+/);
    expect(res.out).toMatch(/ops used\s+.*MatMul/);
    expect(res.out).toContain('layers.0.weight_grad, layers.1.weight_grad');
    expect(existsSync(`${out}.data`)).toBe(true);

    const written = loadModelFile(out).model;
    const ext = written.graph!.initializer!.filter((t) => externalLocation(t)).map((t) => externalLocation(t)!.location);
    expect(ext.length).toBe(2);
    expect(new Set(ext)).toEqual(new Set(['grad.onnx.data']));

    // the same numbers as the gradient graph built in memory from the inline model
    const reference = buildGradientModel(mlp(), { of: ['y'], wrt: ['layers.0.weight', 'layers.1.weight'] });
    const r = rng(7);
    const feeds: Feeds = {
      x: { type: 'float32', dims: [3, 16], data: weights(r, 48) },
      y_grad: { type: 'float32', dims: [3, 8], data: weights(r, 24) },
    };
    const fromFile = await runtime.createSession({
      name: 'written', model: readFileSync(out), externalData: [{ path: 'grad.onnx.data', data: readFileSync(`${out}.data`) }],
    });
    const inMemory = await runtime.createSession({ name: 'reference', model: encodeModel(reference) });
    const a = await fromFile.run(feeds), b = await inMemory.run(feeds);
    for (const k of ['y', 'layers.0.weight_grad', 'layers.1.weight_grad']) {
      expect(Array.from(a[k].data as Float32Array)).toEqual(Array.from(b[k].data as Float32Array));
    }
    await fromFile.release();
    await inMemory.release();
  });

  it('explains bad input', async () => {
    const out = join(dir, 'bad.onnx');
    let res = await capture([input, '--out', out]);
    expect(res.code).toBe(2);
    expect(res.err).toMatch(/missing --wrt/);
    expect(res.err).toMatch(/usage: hyperbooth grad/);
    res = await capture([input, '--wrt', 'layers.0.weight', '--out', out]);
    expect(res.code).toBe(2);
    expect(res.err).toMatch(/2 outputs \(y, hidden\): choose one with --of/);
    res = await capture([input, '--wrt', 'layers.0.wieght', '--of', 'y', '--out', out]);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/unknown wrt name.*'layers\.0\.weight'/);
    res = await capture([join(dir, 'nope.onnx'), '--wrt', 'a', '--out', out]);
    expect(res.code).toBe(2);
    expect(res.err).toMatch(/no such file/);
    res = await capture([input, '--wrt', 'layers.0.weight', '--of', 'y', '--dim', 'batch', '--out', out]);
    expect(res.code).toBe(2);
    expect(res.err).toMatch(/--dim expects <param>=<size>/);
    expect(existsSync(out)).toBe(false);
  });

  it('takes recompute segments and pinned dims, and runs through the hyperbooth command', () => {
    const segs = join(dir, 'segments.json');
    writeFileSync(segs, JSON.stringify([['/layers.0/MatMul', '/layers.0/Tanh']]));
    const out = join(dir, 'cli', 'grad.onnx');
    const bin = join(process.cwd(), 'tools', 'cli-bin', 'hyperbooth.mjs');
    const res = spawnSync(process.execPath, [bin, 'grad', input, '--wrt', 'layers.0.weight', '--of', 'y', '--recompute', segs, '--dim', 'batch=2', '--out', out], { encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/backward nodes\s+\d+ \(\d+ recomputed forward nodes\)/);
    const g = loadModelFile(out).model.graph!;
    expect(g.input!.find((i) => i.name === 'x')!.type!.tensorType!.shape!.dim!.map((d) => Number(d.dimValue))).toEqual([2, 16]);
  }, 60_000);
});
