// `hyperbooth eval traits`: does the plain pack draw a held-out person's captioned traits?
// (src/eval/captionTraits.ts; issue 15's third base-model target)
import { resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import { requireFlag, intFlag, UsageError, type ParsedArgs } from '../args';
import { encodePng, isStyle, STYLES, type Style } from '../../src/dataset';
import { CAPTION_TRAITS_DEFAULTS, captionTraits } from '../../src/eval/captionTraits';
import { loadIdentityEmbedder } from '../../src/eval/embedder/embedder';
import { writeFileAtomic } from '../../src/files/atomicWrite';
import { loadPackFromDisk } from '../../src/packs/node';
import { createNodeRuntime } from '../../src/runtime/nodeRuntime';
import { DEFAULT_EMBEDDER, readEmbedderFile } from './evalEmbedder';

const D = CAPTION_TRAITS_DEFAULTS;
export const TRAITS_USAGE = `hyperbooth eval traits --pack <dir> --sheet <png> [--seed ${D.seed}] [--people ${D.people}] [--seeds ${D.seeds}] [--styles ${D.styles.join(',')}] [--steps ${D.steps}] [--json f] [--embedder <onnx>] [--threads N]`;
const KNOWN = new Set(['pack', 'sheet', 'seed', 'people', 'seeds', 'styles', 'steps', 'json', 'embedder', 'threads']);

export async function runTraits(args: ParsedArgs): Promise<number> {
  for (const k of Object.keys(args.flags)) if (!KNOWN.has(k)) throw new UsageError(`unknown flag --${k}`);
  let packDir: string, sheetPath: string;
  try {
    packDir = resolve(requireFlag(args, 'pack'));
    sheetPath = resolve(requireFlag(args, 'sheet'));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const stylesText = args.flags.styles;
  if (stylesText === true) throw new UsageError('--styles needs a value');
  const styles = stylesText === undefined ? D.styles : stylesText.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of styles) if (!isStyle(s)) throw new UsageError(`unknown style '${s}' (styles: ${STYLES.join(', ')})`);
  const settings = {
    ...D, seed: intFlag(args, 'seed', D.seed), people: intFlag(args, 'people', D.people), seeds: intFlag(args, 'seeds', D.seeds),
    steps: intFlag(args, 'steps', D.steps), styles: styles as Style[],
  };
  if (settings.people < 2) throw new UsageError('--people must be ≥ 2 (the other people are the comparison)');
  if (settings.seeds < 1 || settings.steps < 1) throw new UsageError('--seeds and --steps must be ≥ 1');
  const threads = args.flags.threads === undefined ? undefined : intFlag(args, 'threads');
  if (threads === 0) throw new UsageError('--threads must be ≥ 1');
  const runtime = createNodeRuntime({ backend: 'cpu', ...(threads ? { intraOpNumThreads: threads } : {}) });
  const embedderPath = resolve(typeof args.flags.embedder === 'string' ? args.flags.embedder : DEFAULT_EMBEDDER);
  const embedder = await loadIdentityEmbedder(runtime, readEmbedderFile(embedderPath));
  try {
    const pack = await loadPackFromDisk(packDir);
    const r = await captionTraits(runtime, pack, embedder, settings);
    for (const p of r.people) console.log(`  person ${p.identity}: "${p.caption}": cosine to own photo ${p.own.toFixed(3)}, to the others ${p.others.toFixed(3)}`);
    console.log(`traits: ${r.people.length} held-out people of world ${settings.seed}, ${settings.seeds} seeds × ${settings.styles.length} styles from their captions, no personalization: ` +
      `identity cosine to their own photo ${r.own.toFixed(3)}, to the other people's ${r.others.toFixed(3)} (gap ${r.gap.toFixed(3)}; ${r.closerToOwn}/${r.people.length} closer to their own)`);
    writeFileAtomic(sheetPath, encodePng(r.sheet, { rgb: true, deflate: (b) => deflateSync(b) }));
    console.log(`wrote ${sheetPath} (a row per person: photo | ${settings.seeds} seeds × ${settings.styles.join(', ')})`);
    if (typeof args.flags.json === 'string') {
      const { sheet: _sheet, ...rest } = r;
      writeFileAtomic(resolve(args.flags.json), `${JSON.stringify({ pack: packDir, embedder: embedderPath, ...rest }, null, 2)}\n`);
    }
    return 0;
  } finally {
    await embedder.release();
  }
}
