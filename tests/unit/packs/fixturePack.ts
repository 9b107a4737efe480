// A pack-shaped folder of random bytes (no real graphs): enough for the loader, which only
// cares about the manifest, sizes and hashes.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { PACK_FORMAT, type PackManifest } from '../../../src/packs/manifest';

export const FIXTURE_FILES: Record<string, number> = {
  'tokenizer.json': 1000,
  'text_encoder/model.onnx': 3000,
  // larger than one progress step (256 KiB), so it reports progress several times
  'unet/model.onnx': 700_000,
  'unet/weights.pb': 5000,
  'vae_encoder/model.onnx': 2000,
  'vae_decoder/model.onnx': 2500,
};

export async function makeFixturePack(): Promise<{ dir: string; manifest: PackManifest }> {
  const dir = await mkdtemp(join(tmpdir(), 'hyperbooth-pack-'));
  const files = [];
  for (const [path, size] of Object.entries(FIXTURE_FILES)) {
    const bytes = randomBytes(size);
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), bytes);
    files.push({ path, size, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  const manifest: PackManifest = {
    format: PACK_FORMAT,
    id: 'fixture',
    version: '1',
    name: 'fixture pack',
    image: { width: 64, height: 64 },
    latent: { channels: 4, width: 8, height: 8, scale: 0.18215 },
    schedule: { numTrainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012, betaSchedule: 'scaled_linear', predictionType: 'epsilon' },
    text: { maxLength: 77, hiddenSize: 32, inputDtype: 'int32' },
    unet: { timestepDtype: 'float32', timestepShape: 'batch' },
    vaeEncoderOutput: 'moments',
    trigger: 'sks',
    tokenizer: 'tokenizer.json',
    models: {
      textEncoder: { file: 'text_encoder/model.onnx' },
      unet: { file: 'unet/model.onnx', externalData: ['unet/weights.pb'] },
      vaeEncoder: { file: 'vae_encoder/model.onnx' },
      vaeDecoder: { file: 'vae_decoder/model.onnx' },
    },
    lora: { inputPrefix: 'lora.', layers: [] },
    files,
  };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return { dir, manifest };
}

export interface StaticServer {
  url: string;
  /** paths requested so far, in order */
  requests: string[];
  /** serve these bytes instead of the file on disk (to simulate a bad server copy) */
  overrides: Map<string, Uint8Array>;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 serving `dir`. */
export async function serveDir(dir: string): Promise<StaticServer> {
  const requests: string[] = [];
  const overrides = new Map<string, Uint8Array>();
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    requests.push(path);
    if (path.startsWith('spa/')) {
      // what Vite's dev server and SPA hosts do for a path they do not have
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><html></html>');
      return;
    }
    const override = overrides.get(path);
    try {
      const body = override ?? (await readFile(join(dir, normalize(path))));
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.byteLength });
      // two writes, so the client sees the body arrive in pieces
      const half = body.byteLength >> 1;
      res.write(body.subarray(0, half));
      res.end(body.subarray(half));
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  return { ...(await listenLocal(server)), requests, overrides };
}

/** Starts `server` on 127.0.0.1 and a free port; close() also ends kept-alive connections. */
export async function listenLocal(server: Server): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
