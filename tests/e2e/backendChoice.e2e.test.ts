// The backend choice in real chromium: SwiftShader's WebGPU adapter is recognised as software,
// the start-up probe runs on onnxruntime-web's real WebGPU and WASM EPs, and the app forced
// onto WebGPU says what to expect.
import { describe, expect, test } from 'vitest';
import { appInChromium, launchBrowser } from './harness';
import { waitForReady, watchPage } from './pageHelpers';
import type { ProbeRun } from './pages/probePage';

const env = appInChromium();

async function runProbe(browser = env.browser): Promise<ProbeRun> {
  const page = await browser.newPage();
  await page.goto(new URL('tests/e2e/pages/probe.html', env.server.url).href);
  await page.waitForFunction(() => document.title === 'probe-ready', undefined, { timeout: 120_000 });
  const url = new URL('models/tiny/manifest.json', env.server.url).href;
  const out = await page.evaluate((u) => window.__probe!.run(u), url);
  await page.close();
  return out;
}

describe('backend choice in chromium', () => {
  test("SwiftShader is a software adapter; the probe times both EPs and the rule keeps the faster", async () => {
    const run = await runProbe();
    console.log(`[e2e] adapter ${JSON.stringify(run.adapter)}; probe ${JSON.stringify(run.shape)}: ${JSON.stringify(run.probe)}`);
    expect(run.adapter.kind).toBe('software');
    expect(run.adapter.kind === 'software' && run.adapter.name).toMatch(/swiftshader/i);
    expect(run.choice.backend).toBe('wasm');
    expect(run.choice.notice).toMatch(/software renderer .*\?backend=webgpu/);
    expect('error' in run.probe, JSON.stringify(run.probe)).toBe(false);
    const times = run.probe as { webgpu: number; wasm: number };
    expect(times.webgpu).toBeGreaterThan(0);
    expect(times.wasm).toBeGreaterThan(0);
    // were this adapter a real GPU, the measured faster backend would be kept
    expect(run.asHardware.backend).toBe(times.wasm < times.webgpu ? 'wasm' : 'webgpu');
  });

  test('without WebGPU the probe page sees no adapter and the rule says why', async () => {
    const noGpu = await launchBrowser({ webgpu: false });
    try {
      const run = await runProbe(noGpu);
      expect(run.adapter.kind).toBe('none');
      expect(run.choice).toEqual({ backend: 'wasm', notice: expect.stringMatching(/^WebGPU is not available: /) });
    } finally {
      await noGpu.close();
    }
  });

  test('?backend=webgpu forces WebGPU onto the software adapter and says what to expect', async () => {
    const page = await env.browser.newPage();
    const log = watchPage(page);
    await page.goto(`${env.server.url}?backend=webgpu`);
    await waitForReady(page, log, 240_000);
    expect(await page.getByTestId('backend').textContent()).toBe('WebGPU');
    expect(await page.getByTestId('backend-notice').textContent()).toMatch(/^WebGPU forced in the address, on a software renderer \(.*swiftshader.*\): expect it to be much slower than WASM\.$/i);
    await page.close();
  });
});
