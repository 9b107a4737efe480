// The fuzz suite: every reader of untrusted bytes (safetensors, LiDB, kohya, PEFT, aux, pack
// manifest, ONNX protobuf, tokenizer.json, images with EXIF, Stable Diffusion checkpoints) gets
// thousands of deterministic mutations of valid files. Each case must end in success or the
// reader's typed error, within CASE_LIMIT_MS.
import { afterAll, describe, expect, it } from 'vitest';
import { CASE_LIMIT_MS, runFuzz, type FuzzReport, type FuzzTarget } from './runner';
import { checkpointTarget, imageTargets, jsonTargets, onnxTarget, weightTargets } from './targets';

const onnx = onnxTarget();
afterAll(() => onnx.cleanup());

const ALL_TARGETS: FuzzTarget[] = [...weightTargets, ...jsonTargets, onnx, ...imageTargets, checkpointTarget];
const reports: FuzzReport[] = [];

describe('fuzz: every reader of untrusted bytes', () => {
  for (const [i, target] of ALL_TARGETS.entries()) {
    it(`${target.name}: every mutated input reads or is refused with a typed error, each within ${CASE_LIMIT_MS} ms`, async () => {
      const report = await runFuzz(target, 2024 + i);
      reports.push(report);
      console.log(`fuzz ${report.target}: ${report.cases} cases, ${report.refused} refused, ${report.accepted} read; slowest ${report.maxCaseMs.toFixed(1)} ms, all ${report.totalMs.toFixed(0)} ms; by code ${JSON.stringify(report.byCode)}`);
      expect(report.cases).toBe(Object.keys(target.mutators).length * target.casesPerMutator);
      // the mutations reach the checks: most cases are refusals, not harmless edits
      expect(report.refused).toBeGreaterThan(report.cases / 4);
    });
  }

  it('ran at least 10,000 cases across all targets', () => {
    const total = reports.reduce((n, r) => n + r.cases, 0);
    console.log(`fuzz total: ${total} cases over ${reports.length} targets in ${reports.reduce((n, r) => n + r.totalMs, 0).toFixed(0)} ms`);
    expect(reports).toHaveLength(ALL_TARGETS.length);
    expect(total).toBeGreaterThanOrEqual(10_000);
  });
});
