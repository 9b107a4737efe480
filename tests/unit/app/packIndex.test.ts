import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readPackIndex } from '../../../src/app/packIndex';

const routes: Record<string, { status: number; body: string }> = {
  '/ok/index.json': { status: 200, body: JSON.stringify({ packs: [{ id: 'tiny', name: 'Tiny', path: 'tiny/manifest.json', size: 8 }, { id: 'big' }] }) },
  '/html/index.json': { status: 200, body: '<!doctype html><html></html>' },
  '/bad/index.json': { status: 200, body: '{"packs": [' },
  '/empty/index.json': { status: 200, body: '{"packs": []}' },
  '/noid/index.json': { status: 200, body: '{"packs": [{"name": "x"}]}' },
};

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const r = routes[req.url ?? ''] ?? { status: 404, body: 'nope' };
    res.writeHead(r.status, r.status === 404 ? 'Not Found' : 'OK');
    res.end(r.body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

describe('readPackIndex', () => {
  test('entries with manifest URLs resolved against index.json; default path and size', async () => {
    const list = await readPackIndex(new URL(`${base}/ok/index.json`));
    expect(list).toEqual([
      { id: 'tiny', name: 'Tiny', manifestUrl: `${base}/ok/tiny/manifest.json`, size: 8 },
      { id: 'big', name: undefined, manifestUrl: `${base}/ok/big/manifest.json`, size: undefined },
    ]);
  });

  test.each([
    ['missing', '/missing/index.json', 'models/index.json: HTTP 404 Not Found'],
    ['HTML fallback', '/html/index.json', 'missing (the server sent an HTML page instead)'],
    ['bad JSON', '/bad/index.json', 'not valid JSON'],
    ['no packs', '/empty/index.json', 'lists no packs'],
    ['no id', '/noid/index.json', 'pack 0 has no id'],
  ])('%s → a message naming models/index.json', async (_what, path, message) => {
    await expect(readPackIndex(new URL(`${base}${path}`))).rejects.toThrow(message);
  });
});
