// What the buttons do: the UI's side of talking to the worker. State goes to the store; the
// worker is reached only through workerClient.
import type { Backend, PackProgress } from '../../workers/api';
import { rgbaToPngBlob, pngFileName } from './imageUtils';
import { keepImages, type MadeImage } from './galleryPersistence';
import { DEFAULT_FINE_TUNE, useAppStore, type GalleryItem } from './store';
import { buildRequest, type BuiltRequest } from './request';
import { errorText, runTask } from './taskRunner';
import { getWorkerClient } from './workerClient';
import { readPackIndex, type PackIndexEntry } from './packIndex';
import { chooseStartupPack } from './packChoice';
import { packCrop } from '../packs/manifest';
import { packStylePresets } from '../packs/stylePresets';
import { isSyntheticOnlyPack } from './packDomain';

export { errorText } from './taskRunner';

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

/** Loads the pack chosen last time (see packChoice.ts), else the first in public/models/index.json. Runs once per page. */
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
    s.setTask(null);
    s.setProgress(null);
    if (s.run) s.updateRun({ cancelling: false });
    if (s.pack.phase !== 'ready') s.setPack({ phase: 'error' });
    // after the calls that failed with the crash have landed in the store
    setTimeout(() => void reloadAfterCrash(), 0);
  });

  const { problem } = backendFromUrl();
  if (problem) store.setWarning(problem);

  store.setPack({ phase: 'listing' });
  let entry: PackIndexEntry;
  try {
    entry = chooseStartupPack(await readPackIndex(packIndexUrl()));
  } catch (e) {
    useAppStore.getState().setPack({ phase: 'error' });
    useAppStore.getState().setError(errorText(e));
    return;
  }
  await loadPackEntry(entry);
}

/** The fresh worker has nothing loaded: the pack in use goes back in, then the personal weights that were on. */
async function reloadAfterCrash(): Promise<void> {
  const { id, name, manifestUrl } = useAppStore.getState().pack;
  if (!id || !manifestUrl) return;
  if (!(await loadPackEntry({ id, name, manifestUrl }))) return;
  try {
    await getWorkerClient().reapplyWeights();
  } catch (e) {
    useAppStore.getState().setWarning(`The personal weights in use could not be switched back on after the restart: ${errorText(e)}`);
  }
}

export const packIndexUrl = (): URL => new URL(`${import.meta.env.BASE_URL}models/index.json`, location.href);

/**
 * Loads a pack into the worker (which releases the previous pack's sessions first), with the
 * download's byte progress in the store. Errors land in the store, not the caller.
 */
export async function loadPackEntry(entry: PackIndexEntry): Promise<boolean> {
  const store = useAppStore.getState();
  const client = getWorkerClient();
  const { backend } = backendFromUrl();
  try {
    store.setPack({ phase: 'loading', id: entry.id, name: entry.name ?? entry.id, manifestUrl: entry.manifestUrl, loadedBytes: 0, totalBytes: entry.size ?? 0, downloadedBytes: undefined, file: undefined, fromCache: false, warnings: undefined });
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
      styles: [...packStylePresets(m)],
      imageSize: { ...m.image },
      personalize: { lidb: Boolean(m.lidb), hypernet: Boolean(m.hypernet), fineTune: Boolean(m.train) },
      notice: m.notice,
      crop: packCrop(m),
      warnings: result.warnings,
      syntheticOnly: isSyntheticOnlyPack(m),
    });
    // a style the previous pack offered and this one does not would make no image
    const offered = new Set(packStylePresets(m).map((p) => p.id));
    const kept = useAppStore.getState().styleIds.filter((id) => offered.has(id));
    if (kept.length !== useAppStore.getState().styleIds.length) useAppStore.getState().setStyles(kept);
    // The pack knows what its fine-tune needs (its learning rate was measured on it); the form
    // takes those defaults unless the person already typed something else.
    const defaults = m.train?.defaults;
    if (defaults) {
      const s = useAppStore.getState();
      const untouched = (k: keyof typeof DEFAULT_FINE_TUNE) => s.fineTune[k] === DEFAULT_FINE_TUNE[k];
      s.setFineTune({
        ...(untouched('steps') ? { steps: String(defaults.steps) } : {}),
        ...(untouched('rank') ? { rank: String(defaults.rank) } : {}),
        ...(untouched('learningRate') ? { learningRate: String(defaults.learningRate) } : {}),
      });
    }
    return true;
  } catch (e) {
    useAppStore.getState().setPack({ phase: 'error' });
    useAppStore.getState().setError(errorText(e));
    return false;
  }
}

let nextKey = 0;

export async function generateImages(): Promise<void> {
  const store = useAppStore.getState();
  if (store.pack.phase !== 'ready') return;
  const built = buildRequest(store.settings, {
    styleIds: store.styleIds,
    trigger: store.pack.trigger,
    personalized: store.active !== null,
    presets: store.pack.styles,
  });
  await runTask(
    'generate',
    {
      failure: (why) => why,
      refusal: typeof built === 'string' ? built : undefined,
      clearWarning: true,
      cleanup: () => {
        useAppStore.getState().setProgress(null);
        useAppStore.getState().setCancellingGenerate(false);
      },
    },
    async () => {
      try {
        await generateWith(built as BuiltRequest, store.active ?? undefined);
      } catch (e) {
        // what the person asked for: said calmly, not as a failure
        if (!(e instanceof Error && e.name === 'GenerateCancelledError')) throw e;
        useAppStore.getState().setWarning(`${e.message.replace(/\.$/, '')}: no image was made.`);
      }
    },
  );
}

/** The Cancel button beside a running generate: the worker stops before its next denoising step. */
export async function cancelGenerate(): Promise<void> {
  const s = useAppStore.getState();
  if (s.task !== 'generate' || s.cancellingGenerate) return;
  s.setCancellingGenerate(true);
  try {
    await getWorkerClient().cancelGenerate();
  } catch (e) {
    useAppStore.getState().setError(`Could not cancel: ${errorText(e)}`);
    useAppStore.getState().setCancellingGenerate(false);
  }
}

async function generateWith({ request: req, items: promptItems }: BuiltRequest, personal: { name: string; id?: string } | undefined): Promise<void> {
  useAppStore.getState().setProgress({ image: 0, images: req.prompts.length, step: 0, steps: req.steps });
  const { images, backend, notice } = await getWorkerClient().generate(req, (p) => useAppStore.getState().setProgress(p));
  const made: MadeImage[] = [];
  for (const [i, img] of images.entries()) {
    const png = await rgbaToPngBlob(img.rgba, img.width, img.height);
    const item: GalleryItem = {
      // unique across reloads too: kept images come back under their keys
      key: `img-${Date.now().toString(36)}-${nextKey++}`,
      url: URL.createObjectURL(png),
      prompt: img.prompt,
      label: promptItems[i]?.label,
      seed: img.seed,
      width: img.width,
      height: img.height,
      fileName: pngFileName(img.prompt, img.seed),
      truncatedNote: img.truncatedNote,
    };
    if (personal) item.personalization = personal.name;
    if (personal?.id) item.personalizationId = personal.id;
    made.push({ item, png });
  }
  const s = useAppStore.getState();
  // The newest batch goes first; inside it, images keep the order they were made in.
  s.addImages(made.map((m) => m.item));
  keepImages(made);
  if (personal && s.active?.name === personal.name) s.setPersonalImages(true);
  // WebGPU can fail mid-run; the worker then finishes on WASM and says so.
  s.setBackend(backend, notice ?? s.backendNotice);
  const note = images.find((i) => i.truncatedNote)?.truncatedNote;
  if (note) s.setWarning(`Prompt truncated: ${note}`);
}

export function randomSeed(): number {
  const buf = new Uint32Array(1);
  crypto.getRandomValues(buf);
  return buf[0];
}
