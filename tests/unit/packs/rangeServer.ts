// A real HTTP server for resume tests: serves a folder with Range support (or without, to act as
// a server that ignores Range), logs each request's Range header and the body bytes it sent, and
// can cut a response off after N bytes by destroying the connection.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';

export interface RangeRequest {
  path: string;
  range?: string;
  status: number;
  /** body bytes written before the response ended or was cut */
  sentBytes: number;
}

export interface RangeServer {
  url: string;
  requests: RangeRequest[];
  /** answer Range requests with 200 and the whole file */
  ignoreRange: boolean;
  /** leave Content-Range out of 206 answers (what a cross-origin page sees when it is not exposed) */
  hideContentRange: boolean;
  /** cut the next response for a path after this many body bytes (used once) */
  cutAfter: Map<string, number>;
  /** serve these bytes for a path instead of the file (a bad server copy) */
  overrides: Map<string, Uint8Array>;
  /** extra headers on every answer (CORS, CORP for a cross-origin page) */
  headers: Record<string, string>;
  /** delay between 64 KiB writes of a file's body, per path */
  throttleMs: Map<string, number>;
  close(): Promise<void>;
}

const WRITE_BYTES = 64 * 1024;

export async function serveWithRange(dir: string): Promise<RangeServer> {
  const state: Omit<RangeServer, 'url' | 'close'> = {
    requests: [],
    ignoreRange: false,
    hideContentRange: false,
    cutAfter: new Map(),
    overrides: new Map(),
    headers: {},
    throttleMs: new Map(),
  };
  const server: Server = createServer(async (req, res) => {
    // no keep-alive: a connection cut on purpose must never be reused by the next request
    res.setHeader('Connection', 'close');
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...state.headers, 'Access-Control-Allow-Headers': 'Range', 'Access-Control-Allow-Methods': 'GET' });
      res.end();
      return;
    }
    const range = req.headers.range;
    const entry: RangeRequest = { path, range, status: 0, sentBytes: 0 };
    state.requests.push(entry);
    let body: Uint8Array;
    try {
      body = state.overrides.get(path) ?? new Uint8Array(await readFile(join(dir, normalize(path))));
    } catch {
      entry.status = 404;
      res.writeHead(404, state.headers);
      res.end();
      return;
    }
    const type = path.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
    let from = 0;
    if (m && !state.ignoreRange) {
      from = Number(m[1]);
      if (from >= body.byteLength) {
        entry.status = 416;
        res.writeHead(416, { ...state.headers, 'Content-Range': `bytes */${body.byteLength}` });
        res.end();
        return;
      }
      entry.status = 206;
      res.writeHead(206, {
        ...state.headers,
        'Content-Type': type,
        'Content-Length': String(body.byteLength - from),
        ...(state.hideContentRange ? {} : { 'Content-Range': `bytes ${from}-${body.byteLength - 1}/${body.byteLength}` }),
        'Accept-Ranges': 'bytes',
      });
    } else {
      entry.status = 200;
      res.writeHead(200, { ...state.headers, 'Content-Type': type, 'Content-Length': String(body.byteLength) });
    }
    const cut = state.cutAfter.get(path);
    state.cutAfter.delete(path);
    const delay = state.throttleMs.get(path) ?? 0;
    let at = from;
    while (at < body.byteLength) {
      const end = Math.min(body.byteLength, at + WRITE_BYTES, cut !== undefined ? from + cut : Infinity);
      if (end <= at) break;
      const ok = res.write(body.subarray(at, end));
      entry.sentBytes += end - at;
      at = end;
      if (res.destroyed) return;
      // a client that went away never drains: wait for whichever comes first
      if (!ok) await new Promise((r) => { res.once('drain', r); res.once('close', r); });
      if (delay) await new Promise((r) => setTimeout(r, delay));
      if (res.destroyed || req.destroyed) return;
    }
    if (cut !== undefined && at < body.byteLength) {
      // a connection lost mid-body: the client sees a body shorter than Content-Length
      res.socket?.destroy();
      return;
    }
    res.end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const out = state as RangeServer;
  out.url = `http://127.0.0.1:${port}/`;
  out.close = () =>
    new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    });
  return out;
}
