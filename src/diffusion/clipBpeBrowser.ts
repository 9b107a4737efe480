// The shipped CLIP BPE file read in a browser (checked against its recorded sha256, as
// ./clipBpeNode.ts does in Node). It is one of the app's own assets: same origin, nothing leaves.
// A server may send the .gz with Content-Encoding: gzip, and the browser then hands over the
// text itself: both forms are accepted, each against its own digest.
import { sha256Hex } from '../packs/sha256';
import { CLIP_BPE_SHA256, CLIP_BPE_TEXT_SHA256 } from './clipBpe';

const BPE_URL = new URL('./clip-bpe/bpe_simple_vocab_16e6.txt.gz', import.meta.url);
let text: Promise<string> | undefined;

async function fetchBpe(): Promise<string> {
  const res = await fetch(BPE_URL);
  if (!res.ok) throw new Error(`CLIP's vocabulary (${BPE_URL.pathname}) could not be read: HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const sha = await sha256Hex(bytes);
  if (sha === CLIP_BPE_TEXT_SHA256) return new TextDecoder().decode(bytes);
  if (sha !== CLIP_BPE_SHA256) throw new Error(`${BPE_URL.pathname}: sha256 ${sha}, expected ${CLIP_BPE_SHA256} (gzipped) or ${CLIP_BPE_TEXT_SHA256} (as text): the shipped CLIP vocabulary was changed`);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Response(stream).text();
}

/** CLIP's BPE merge list, gunzipped; fetched once per worker. */
export function readClipBpeTextInBrowser(): Promise<string> {
  text ??= fetchBpe().catch((e) => {
    text = undefined;
    throw e;
  });
  return text;
}
