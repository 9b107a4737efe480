// What the buttons do: the UI's side of talking to the worker. State goes to the store; the
// worker is reached only through workerClient.
import type { Backend, GenerateRequest, PackProgress } from '../../workers/api';
import { rgbaToPngUrl, pngFileName } from './imageUtils';
import { useAppStore, type GalleryItem, type Settings } from './store';
import { getWorkerClient } from './workerClient';
import { readPackIndex } from './packIndex';

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** `?backend=wasm` or `?backend=webgpu` forces a backend (tests compare the two). */
export function backendFromUrl(search = location.search): { backend?: Backend; problem?: string } {
  const value = new URLSearchParams(search).get('backend');
  if (value === null || value === '') return {};
  if (value === 'webgpu' || value === 'wasm') return { backend: value };
  return { problem: `Unknown backend "${value}" in the address: use ?backend=webgpu or ?backend=wasm. Choosing automatically.` };
}

/**
 * The worker reports progress per file; the status line shows the whole pack, so the per-file
 * counts are summed against the pack's total size (from models/index.json when it says).
 */
function packProgressTracker(
  packTotal: number,
  onTotals: (loaded: number, total: number, file: string, fromCache: boolean) => void,
) {
  const files = new Map<string, { loaded: number; total: number }>();
  return (p: PackProgress) => {
    files.set(p.file, { loaded: p.loadedBytes, total: p.totalBytes });
    let loaded = 0;
    let seen = 0;
    for (const f of files.values()) {
      loaded += f.loaded;
      seen += f.total;
    }
    onTotals(loaded, Math.max(packTotal, seen), p.file, p.fromCache);
  };
}

let packLoad: Promise<void> | undefined;

/** Loads the first pack listed in public/models/index.json. Runs once per page. */
export function loadDefaultPack(): Promise<void> {
  packLoad ??= loadFirstPack();
  return packLoad;
}

async function loadFirstPack(): Promise<void> {
  const store = useAppStore.getState();
  const client = getWorkerClient();
  client.onCrash((message) => {
    const s = useAppStore.getState();
    s.setError(message);
    s.setBusy(false);
    s.setProgress(null);
    if (s.pack.phase !== 'ready') s.setPack({ phase: 'error' });
  });

  const { backend, problem } = backendFromUrl();
  if (problem) store.setWarning(problem);

  store.setPack({ phase: 'listing' });
  try {
    const indexUrl = new URL(`${import.meta.env.BASE_URL}models/index.json`, location.href);
    const [entry] = await readPackIndex(indexUrl);
    store.setPack({ phase: 'loading', id: entry.id, name: entry.name ?? entry.id, loadedBytes: 0, totalBytes: entry.size ?? 0 });
    const track = packProgressTracker(
      entry.size ?? 0,
      (loadedBytes, totalBytes, file, fromCache) => useAppStore.getState().setPack({ loadedBytes, totalBytes, file, fromCache }),
    );
    const result = await client.loadPack(entry.manifestUrl, backend ? { backend } : {}, track);
    const m = result.manifest;
    useAppStore.getState().setBackend(result.backend, result.notice);
    useAppStore.getState().setPack({
      phase: 'ready',
      id: m.id,
      name: m.name,
      file: undefined,
      downloadedBytes: result.downloadedBytes,
      trigger: m.trigger,
      imageSize: { ...m.image },
    });
  } catch (e) {
    useAppStore.getState().setPack({ phase: 'error' });
    useAppStore.getState().setError(errorText(e));
  }
}

const MAX_SEED = 2 ** 32 - 1;

/** Turns the form into a request, or says which field is wrong. */
export function buildRequest(s: Settings): GenerateRequest | string {
  const prompt = s.prompt.trim();
  if (!prompt) return 'Write a prompt first.';
  const seed = Number(s.seed);
  if (s.seed.trim() === '' || !Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    return `Seed must be a whole number from 0 to ${MAX_SEED}.`;
  }
  const steps = Number(s.steps);
  if (!Number.isInteger(steps) || steps < 1 || steps > 150) return 'Steps must be a whole number from 1 to 150.';
  const guidance = Number(s.guidance);
  if (s.guidance.trim() === '' || !Number.isFinite(guidance) || guidance < 0 || guidance > 30) {
    return 'Guidance must be a number from 0 to 30.';
  }
  const count = Number(s.count);
  if (!Number.isInteger(count) || count < 1 || count > 4) return 'Images must be a whole number from 1 to 4.';
  const negativePrompt = s.negativePrompt.trim();
  return {
    prompts: Array.from({ length: count }, () => prompt),
    ...(negativePrompt ? { negativePrompt } : {}),
    seed,
    steps,
    guidance,
    scheduler: s.scheduler,
  };
}

let nextKey = 0;

export async function generateImages(): Promise<void> {
  const store = useAppStore.getState();
  if (store.busy || store.pack.phase !== 'ready') return;
  const req = buildRequest(store.settings);
  if (typeof req === 'string') {
    store.setError(req);
    return;
  }
  store.setError(null);
  store.setWarning(null);
  store.setBusy(true);
  store.setProgress({ image: 0, images: req.prompts.length, step: 0, steps: req.steps });
  try {
    const images = await getWorkerClient().generate(req, (p) => useAppStore.getState().setProgress(p));
    const items: GalleryItem[] = [];
    for (const img of images) {
      items.push({
        key: `img-${nextKey++}`,
        url: await rgbaToPngUrl(img.rgba, img.width, img.height),
        prompt: img.prompt,
        seed: img.seed,
        width: img.width,
        height: img.height,
        fileName: pngFileName(img.prompt, img.seed),
        truncatedNote: img.truncatedNote,
      });
    }
    // The newest batch goes first; inside it, images keep the order they were made in.
    useAppStore.getState().addImages(items);
    // WebGPU can fail mid-run; the worker then finishes on WASM and says so on the images.
    const last = images.at(-1);
    if (last?.backend) useAppStore.getState().setBackend(last.backend, last.notice ?? useAppStore.getState().backendNotice);
    const note = images.find((i) => i.truncatedNote)?.truncatedNote;
    if (note) useAppStore.getState().setWarning(`Prompt truncated: ${note}`);
  } catch (e) {
    useAppStore.getState().setError(errorText(e));
  } finally {
    useAppStore.getState().setBusy(false);
    useAppStore.getState().setProgress(null);
  }
}

export function randomSeed(): number {
  const buf = new Uint32Array(1);
  crypto.getRandomValues(buf);
  return buf[0];
}
