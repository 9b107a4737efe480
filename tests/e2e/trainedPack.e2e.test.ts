// The embedded pack is the trained one (issue 6): the app says it was trained on synthetic
// portraits, and a synthetic selfie — the image `hyperbooth dataset selfie` writes — personalizes
// visibly in chromium: the same prompt and seed give a different image after personalizing, one
// that the eval's CNN identity embedder (public/models/eval, run here on onnxruntime-node) puts
// closer to the person than the plain model's image.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { appInChromium, projectRoot } from './harness';
import { readGalleryPixels, setSampling, waitForTestId, watchPage } from './pageHelpers';
import { encodePng, identitySeed, photoSeed, renderPhoto, renderStyled, sampleIdentity } from '../../src/dataset';
import { cosine } from '../../src/eval/features';
import { loadIdentityEmbedder } from '../../src/eval/embedder/embedder';
import { createNodeRuntime } from '../../src/runtime/nodeRuntime';
import type { RgbaImage } from '../../src/face/image';
import type { PackManifest } from '../../src/packs/manifest';

const packDir = join(projectRoot, 'public', 'models', 'tiny');
const manifest = JSON.parse(readFileSync(join(packDir, 'manifest.json'), 'utf8')) as PackManifest;

// A held-out identity (never trained on), photographed as `hyperbooth dataset selfie --id 3` does.
const SELFIE_ID = 3;
const identity = sampleIdentity(identitySeed('heldout', SELFIE_ID, 0));
const selfiePng = Buffer.from(encodePng(renderStyled(identity, 'photo', photoSeed(identity.seed, 0), 256), { rgb: true, deflate: (b) => deflateSync(b) }));
const reference = renderPhoto(identity, photoSeed(identity.seed, 0), { size: manifest.image.width });

// SwiftShader runs each UNet pass on the CPU: few steps, one image at a time.
const FINE_TUNE_STEPS = 4;
const SAMPLING = { steps: '8', guidance: '7.5', scheduler: 'ddim', seed: '11', count: '1' };
const PROMPT = `a photo of a ${manifest.trigger} face`;
const TIMEOUT = 300_000;

const env = appInChromium();

async function generate(page: Page, log: string[]): Promise<RgbaImage> {
  await page.getByTestId('prompt').fill(PROMPT);
  await page.getByTestId('negative-prompt').fill('');
  await setSampling(page, SAMPLING);
  const before = await page.getByTestId('gallery-image').count();
  await page.getByTestId('generate').click();
  await waitForTestId(page, log, 'gallery-image', TIMEOUT, before + 1);
  const { rgba, width, height } = await readGalleryPixels(page);
  return { width, height, data: new Uint8ClampedArray(rgba) };
}

async function identityScores(images: RgbaImage[]): Promise<number[]> {
  const bytes = new Uint8Array(readFileSync(join(projectRoot, 'public', 'models', 'eval', 'identity-embedder.onnx')));
  const embedder = await loadIdentityEmbedder(createNodeRuntime({ backend: 'cpu' }), bytes);
  try {
    const [ref, ...rest] = await embedder.embed([reference, ...images]);
    return rest.map((e) => cosine(e, ref));
  } finally {
    await embedder.release();
  }
}

describe('the trained embedded pack in chromium', () => {
  test('says it was trained on synthetic portraits, and a synthetic selfie personalizes visibly', async () => {
    const page = await env.browser.newPage();
    const log = watchPage(page);
    await page.goto(env.server.url);
    await page.waitForFunction(() => (document.querySelector('[data-testid="status"]')?.textContent ?? '').startsWith('Ready'), undefined, { timeout: TIMEOUT });
    expect(await page.getByTestId('pack-notice').textContent()).toMatch(/trained only on HyperBooth's synthetic 64×64 portraits.*npx hyperbooth pack/);

    // the plain model first: the trigger means nothing to it
    const plain = await generate(page, log);

    await page.getByTestId('selfie-input').setInputFiles({ name: 'synthetic-selfie.png', mimeType: 'image/png', buffer: selfiePng });
    await waitForTestId(page, log, 'crop-confirm', TIMEOUT, 1);
    // the pack learned whole 64×64 portraits and its manifest says so: the crop starts on the whole picture
    expect(await page.getByTestId('crop-zoom').inputValue()).toBe('0');
    await page.getByTestId('crop-confirm').click();
    await page.getByTestId('ft-steps').fill(String(FINE_TUNE_STEPS));
    await page.getByTestId('personalize').click();
    await waitForTestId(page, log, 'personalized', TIMEOUT, 1);

    const personal = await generate(page, log);
    let diff = 0;
    for (let i = 0; i < plain.data.length; i++) if (i % 4 !== 3) diff += Math.abs(plain.data[i] - personal.data[i]);
    const meanDiff = diff / ((plain.data.length / 4) * 3);
    const [before, after] = await identityScores([plain, personal]);
    console.log(`[e2e] trained pack: mean |Δpixel| ${meanDiff.toFixed(1)}/255; identity cosine to the selfie ${before.toFixed(3)} (plain) → ${after.toFixed(3)} (personalized)`);
    expect(meanDiff).toBeGreaterThan(8);
    // measured: −0.031 → 0.744 (the renderer's own images of a held-out person score about 0.9)
    expect(after).toBeGreaterThan(before + 0.3);
    expect(log.filter((l) => l.startsWith('pageerror'))).toEqual([]);
    await page.close();
  });
});
