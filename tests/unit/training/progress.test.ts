// The progress line, the loss EMA and the checkpoint file format, without models.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ema, formatDuration, progressText } from '../../../src/training/progress';
import { checkpointName, decodeCheckpoint, encodeCheckpoint, latestCheckpointPath, loadCheckpoint, saveCheckpoint } from '../../../src/training/checkpoint';
import { SeededRandom } from '../../../src/diffusion/random';
import { Adam } from '../../../src/finetune/adam';
import { tempDir } from './helpers';

describe('progress line', () => {
  it('shows step/total, loss EMA, rate and ETA', () => {
    const text = progressText({ stage: 'base', step: 30, total: 120, lossEma: 0.123456, itPerSec: 0.5 }, 8);
    expect(text).toBe('base ██░░░░░░ 30/120 loss 0.1235 2.00 s/it ETA 03:00');
    expect(progressText({ stage: 'x', step: 1, total: 2, lossEma: 1, itPerSec: 4 }, 2)).toMatch(/4\.00 it\/s ETA 00:00$/);
    expect(formatDuration(3 * 3600 + 62)).toBe('3:01:02');
    expect(formatDuration(Number.NaN)).toBe('--:--');
  });

  it('EMA starts at the first value and follows the mean', () => {
    const e = new Ema(0.9);
    expect(e.update(2)).toBeCloseTo(2, 12);
    for (let i = 0; i < 200; i++) e.update(1);
    expect(e.get()).toBeCloseTo(1, 6);
  });
});

describe('checkpoint', () => {
  it('round-trips parameters, Adam state, RNG state and settings exactly', () => {
    const params = { 'unet/a.weight': Float32Array.from([1, -2, 3.5]), 'vae/b': Float32Array.from([0.25]) };
    const adam = new Adam(params, { lr: 0.1 });
    adam.step({ 'unet/a.weight': Float32Array.from([0.1, 0.2, -0.3]), 'vae/b': Float32Array.from([1]) });
    const rng = new SeededRandom(42);
    rng.randn(3);
    const c = decodeCheckpoint(encodeCheckpoint({ stage: 'base', step: 7, params, adam: adam.getState(), rng: rng.getState(), config: { lr: 0.1 } }));
    expect(c.step).toBe(7);
    expect(c.config).toEqual({ lr: 0.1 });
    expect(c.params).toEqual(params);
    // a restored optimizer and RNG continue exactly as the original ones
    const copy = Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, v.slice()]));
    const adam2 = new Adam(copy, { lr: 0.1 });
    adam2.setState(c.adam);
    const g = { 'unet/a.weight': Float32Array.from([-1, 0.5, 2]), 'vae/b': Float32Array.from([-0.5]) };
    adam.step(g); adam2.step(g);
    expect(copy).toEqual(params);
    expect(SeededRandom.fromState(c.rng).randn(5)).toEqual(rng.randn(5));
  });

  it('is written atomically and the latest one is found', () => {
    const dir = tempDir('ckpt');
    expect(latestCheckpointPath(dir)).toBeNull();
    const base = { stage: 's', params: { p: new Float32Array(2) }, adam: { t: 0, m: { p: new Float32Array(2) }, v: { p: new Float32Array(2) } }, rng: new SeededRandom(1).getState(), config: {} };
    saveCheckpoint(dir, { ...base, step: 10 });
    saveCheckpoint(dir, { ...base, step: 9 });
    writeFileSync(join(dir, `${checkpointName(11)}.tmp-123`), 'half a file');
    expect(latestCheckpointPath(dir)).toBe(join(dir, checkpointName(10)));
    expect(loadCheckpoint(latestCheckpointPath(dir)!).step).toBe(10);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-') && !n.includes('123'))).toEqual([]);
    expect(existsSync(join(dir, checkpointName(9)))).toBe(true);
  });

  it('Adam.setState refuses state of another shape', () => {
    const adam = new Adam({ p: new Float32Array(2) });
    expect(() => adam.setState({ t: 1, m: { p: new Float32Array(3) }, v: { p: new Float32Array(2) } })).toThrow(/m of 'p' has 3 values/);
    expect(() => adam.setState({ t: 1, m: {}, v: {} })).toThrow(/no m for 'p'/);
  });
});
