// The shipped CLIP BPE file read in Node (checked against its recorded sha256).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { CLIP_BPE_SHA256 } from './clipBpe';

export const CLIP_BPE_URL = new URL('./clip-bpe/bpe_simple_vocab_16e6.txt.gz', import.meta.url);

export function readClipBpeText(): string {
  const gz = readFileSync(CLIP_BPE_URL);
  const sha = createHash('sha256').update(gz).digest('hex');
  if (sha !== CLIP_BPE_SHA256) throw new Error(`${CLIP_BPE_URL.pathname}: sha256 ${sha}, expected ${CLIP_BPE_SHA256} (the shipped CLIP vocabulary was changed)`);
  return gunzipSync(gz).toString('utf8');
}
