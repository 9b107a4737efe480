// Runs inside chromium for tests/e2e/backendChoice.e2e.test.ts: the app's own adapter
// inspection and start-up probe (src/runtime), on onnxruntime-web's real WebGPU and WASM EPs.
import { decideBackend, probeBackends, type BackendChoice, type ProbeTimes } from '../../../src/runtime/backendChoice';
import { probeShapeOf, type ProbeShape } from '../../../src/runtime/backendProbe';
import { inspectWebgpuAdapter, type WebgpuAdapterReport } from '../../../src/runtime/webgpuAdapter';
import { createWebRuntime } from '../../../src/runtime/webRuntime';
import type { PackManifest } from '../../../src/packs/manifest';

export interface ProbeRun {
  adapter: WebgpuAdapterReport;
  shape: ProbeShape;
  /** the probe's times, or why WebGPU could not run it */
  probe: ProbeTimes | { error: string };
  /** what the rule decides for this adapter, and what it would decide were it a hardware one */
  choice: BackendChoice;
  asHardware: BackendChoice;
}

declare global {
  interface Window { __probe?: { run(manifestUrl: string): Promise<ProbeRun> } }
}

window.__probe = {
  async run(manifestUrl) {
    const manifest = (await (await fetch(manifestUrl)).json()) as PackManifest;
    const adapter = await inspectWebgpuAdapter();
    const shape = probeShapeOf(manifest);
    const probe = await probeBackends((b) => createWebRuntime({ prefer: b }), shape);
    const hardware: WebgpuAdapterReport = { kind: 'hardware', name: adapter.kind === 'none' ? 'none' : adapter.name };
    return {
      adapter,
      shape,
      probe: probe instanceof Error ? { error: probe.message } : probe,
      choice: decideBackend(adapter),
      asHardware: decideBackend(hardware, undefined, probe),
    };
  },
};
document.title = 'probe-ready';
