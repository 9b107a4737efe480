// All UI state in one zustand store. Actions that talk to the worker or IndexedDB live in the
// *Actions.ts modules; this one holds state and plain setters so components stay dumb.
import { create } from 'zustand';
import type { Backend, ImportProgress, PersonalizeProgress, PreparedSelfie, SchedulerName, SquareCrop, StepProgress } from '../../workers/api';
import type { PackCrop } from '../packs/manifest';
import type { StylePreset } from '../packs/stylePresets';
import type { FineTuneFields, Settings } from './request';
import type { PersonalizationRecord } from './storage/personalizations';
import type { StoredPack } from '../packs/storedPacks';

export type { Settings, FineTuneFields } from './request';

export type PackPhase = 'idle' | 'listing' | 'loading' | 'ready' | 'error';

export interface PackState {
  phase: PackPhase;
  id?: string;
  name?: string;
  /** where the pack being loaded (or loaded) comes from */
  manifestUrl?: string;
  /** file being fetched right now */
  file?: string;
  loadedBytes: number;
  totalBytes: number;
  /** the bytes of the current file come from the browser cache */
  fromCache: boolean;
  /** bytes fetched from the network by the finished load (0: everything came from the cache) */
  downloadedBytes?: number;
  trigger?: string;
  /** the styles the pack offers (its manifest's, or the usual presets) */
  styles?: StylePreset[];
  imageSize?: { width: number; height: number };
  /** what the pack brings for personalization: aux bases, a hypernetwork, train-step graphs */
  personalize?: { lidb: boolean; hypernet: boolean; fineTune: boolean };
  /** the pack's manifest notice (its training domain …), shown beside the upload */
  notice?: string;
  /** how the pack wants the selfie cropped (its manifest's `crop`, default face) */
  crop?: PackCrop;
  /** what went wrong without stopping the load (the pack could not be kept for offline use, and why) */
  warnings?: string[];
  /** its manifest says it was trained on synthetic portraits only (packDomain.ts) */
  syntheticOnly?: boolean;
}

/** What the worker is busy with; one thing at a time (it runs one job at a time anyway). */
export type Task = 'selfie' | 'personalize' | 'generate' | 'import' | 'switch' | 'export' | 'add-model';

/** "Add a model from a file…": the checkpoint being converted, or how the last one ended. */
export interface ModelImportState {
  fileName: string;
  phase: 'running' | 'cancelling' | 'done' | 'failed' | 'cancelled';
  progress?: ImportProgress;
  /** done: what was added; failed: the checkpoint error's message */
  message?: string;
}

export interface GalleryItem {
  key: string;
  /** object URL of the PNG */
  url: string;
  prompt: string;
  /** the style's label, or "Your prompt" */
  label?: string;
  /** name of the personalization that made it, when one was active */
  personalization?: string;
  /** its saved record's id: marks the images of the active personalization after a reload */
  personalizationId?: string;
  seed: number;
  width: number;
  height: number;
  fileName: string;
  truncatedNote?: string;
}

export interface SelfieState extends PreparedSelfie {
  fileName: string;
  /** the crop as the person has moved it (starts at the worker's `crop`) */
  current: SquareCrop;
  confirmed: boolean;
}

export interface PersonalizeRun {
  progress: PersonalizeProgress | null;
  losses: number[];
  cancelling: boolean;
  /** how it ended, when it ended early or failed */
  outcome?: { kind: 'stopped-early' | 'cancelled'; message: string };
  steps: number;
}

/** The personalization the worker applies to every generate(). */
export interface ActivePersonalization {
  /** IndexedDB id, when saved */
  id?: string;
  name: string;
  rank: number;
  trigger: string;
  packId: string;
  source: PersonalizationRecord['source'];
  settings?: PersonalizationRecord['settings'];
  stoppedEarly?: string;
  /** fine-tune steps actually run (fewer than settings.steps when it stopped early) */
  stepsDone?: number;
  /** 'lora': an imported kohya / PEFT LoRA (no LiDB form, no trigger of its own); absent: a LiDB */
  kind?: PersonalizationRecord['kind'];
  /** an imported LoRA's strength */
  strength?: number;
}

export interface LibraryState {
  phase: 'loading' | 'ready' | 'unavailable';
  records: PersonalizationRecord[];
  /** object URLs of the thumbnails, by record id */
  thumbnails: Record<string, string>;
  /** why the list is incomplete or unavailable */
  problem?: string;
}

export interface AppState {
  pack: PackState;
  backend?: Backend;
  /** why the backend is not the preferred one (e.g. no WebGPU) */
  backendNotice?: string;
  settings: Settings;
  /** ids of the selected style presets */
  styleIds: string[];
  task: Task | null;
  /** generate() progress */
  progress: StepProgress | null;
  /** Cancel was pressed and the running generate has not stopped yet */
  cancellingGenerate: boolean;
  gallery: GalleryItem[];
  error: string | null;
  /** non-fatal, e.g. the prompt was truncated */
  warning: string | null;

  selfie: SelfieState | null;
  fineTune: FineTuneFields;
  run: PersonalizeRun | null;
  /** the photo, crop and settings of a personalize that a reload interrupted were put back */
  resumedRun: boolean;
  active: ActivePersonalization | null;
  /** images were made with the active personalization */
  personalImages: boolean;
  /** a file of the active personalization was downloaded */
  downloaded: boolean;
  library: LibraryState;
  /** packs made in this browser from a checkpoint (OPFS) */
  storedPacks: StoredPack[];
  modelImport: ModelImportState | null;

  setSettings(patch: Partial<Settings>): void;
  toggleStyle(id: string): void;
  setStyles(ids: string[]): void;
  setPack(patch: Partial<PackState>): void;
  setBackend(backend: Backend, notice?: string): void;
  setTask(task: Task | null): void;
  setProgress(progress: StepProgress | null): void;
  setCancellingGenerate(v: boolean): void;
  addImages(items: GalleryItem[]): void;
  clearGallery(): void;
  setError(error: string | null): void;
  setWarning(warning: string | null): void;
  setSelfie(selfie: SelfieState | null): void;
  setCrop(crop: SquareCrop): void;
  confirmCrop(): void;
  setFineTune(patch: Partial<FineTuneFields>): void;
  setRun(run: PersonalizeRun | null): void;
  updateRun(patch: Partial<PersonalizeRun>): void;
  setResumedRun(v: boolean): void;
  setActive(active: ActivePersonalization | null): void;
  setPersonalImages(v: boolean): void;
  setDownloaded(v: boolean): void;
  setLibrary(patch: Partial<LibraryState>): void;
  setStoredPacks(list: StoredPack[]): void;
  setModelImport(state: ModelImportState | null): void;
}

export const SCHEDULERS: { value: SchedulerName; label: string }[] = [
  { value: 'ddim', label: 'DDIM' },
  { value: 'euler', label: 'Euler' },
  { value: 'dpmpp2m', label: 'DPM-Solver++ 2M' },
];

export const DEFAULT_SETTINGS: Settings = {
  prompt: '',
  negativePrompt: 'blurry, low quality, deformed',
  seed: '42',
  steps: '20',
  guidance: '7.5',
  scheduler: 'dpmpp2m',
  count: '1',
};

/**
 * The paper's fast fine-tune: 40 steps at relaxed rank 4. The learning rate is replaced by the
 * pack's own default when the worker reports one.
 */
export const DEFAULT_FINE_TUNE: FineTuneFields = { steps: '40', learningRate: '0.001', rank: '4', seed: '0', relaxation: 'full-space' };

export const useAppStore = create<AppState>()((set) => ({
  pack: { phase: 'idle', loadedBytes: 0, totalBytes: 0, fromCache: false },
  settings: DEFAULT_SETTINGS,
  styleIds: [],
  task: null,
  progress: null,
  cancellingGenerate: false,
  gallery: [],
  error: null,
  warning: null,
  selfie: null,
  fineTune: DEFAULT_FINE_TUNE,
  run: null,
  resumedRun: false,
  active: null,
  personalImages: false,
  downloaded: false,
  library: { phase: 'loading', records: [], thumbnails: {} },
  storedPacks: [],
  modelImport: null,

  setSettings: (patch) => set((s) => ({ settings: { ...s.settings, ...patch } })),
  toggleStyle: (id) =>
    set((s) => ({ styleIds: s.styleIds.includes(id) ? s.styleIds.filter((x) => x !== id) : [...s.styleIds, id] })),
  setStyles: (styleIds) => set({ styleIds }),
  setPack: (patch) => set((s) => ({ pack: { ...s.pack, ...patch } })),
  setBackend: (backend, notice) => set({ backend, backendNotice: notice }),
  setTask: (task) => set({ task }),
  setProgress: (progress) => set({ progress }),
  setCancellingGenerate: (cancellingGenerate) => set({ cancellingGenerate }),
  addImages: (items) => set((s) => ({ gallery: [...items, ...s.gallery] })),
  clearGallery: () =>
    set((s) => {
      for (const item of s.gallery) URL.revokeObjectURL(item.url);
      return { gallery: [] };
    }),
  setError: (error) => set({ error }),
  setWarning: (warning) => set({ warning }),
  // another photo is not the one of the interrupted run
  setSelfie: (selfie) => set({ selfie, resumedRun: false }),
  setCrop: (crop) => set((s) => (s.selfie ? { selfie: { ...s.selfie, current: crop } } : {})),
  confirmCrop: () => set((s) => (s.selfie ? { selfie: { ...s.selfie, confirmed: true } } : {})),
  setFineTune: (patch) => set((s) => ({ fineTune: { ...s.fineTune, ...patch } })),
  setRun: (run) => set({ run }),
  updateRun: (patch) => set((s) => (s.run ? { run: { ...s.run, ...patch } } : {})),
  setResumedRun: (resumedRun) => set({ resumedRun }),
  setActive: (active) => set({ active, personalImages: false, downloaded: false }),
  setPersonalImages: (personalImages) => set({ personalImages }),
  setDownloaded: (downloaded) => set({ downloaded }),
  setLibrary: (patch) => set((s) => ({ library: { ...s.library, ...patch } })),
  setStoredPacks: (storedPacks) => set({ storedPacks }),
  setModelImport: (modelImport) => set({ modelImport }),
}));
