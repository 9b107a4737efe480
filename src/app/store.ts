// All UI state in one zustand store. Actions that talk to the worker live in actions.ts; this
// module only holds state and plain setters so components stay dumb.
import { create } from 'zustand';
import type { Backend, SchedulerName, StepProgress } from '../../workers/api';

export type PackPhase = 'idle' | 'listing' | 'loading' | 'ready' | 'error';

export interface PackState {
  phase: PackPhase;
  id?: string;
  name?: string;
  /** file being fetched right now */
  file?: string;
  loadedBytes: number;
  totalBytes: number;
  /** the bytes of the current file come from the browser cache */
  fromCache: boolean;
  /** bytes fetched from the network by the finished load (0: everything came from the cache) */
  downloadedBytes?: number;
  trigger?: string;
  imageSize?: { width: number; height: number };
}

/** Form fields as typed: numbers stay strings until Generate validates them. */
export interface Settings {
  prompt: string;
  negativePrompt: string;
  seed: string;
  steps: string;
  guidance: string;
  scheduler: SchedulerName;
  count: string;
}

export interface GalleryItem {
  key: string;
  /** object URL of the PNG */
  url: string;
  prompt: string;
  seed: number;
  width: number;
  height: number;
  fileName: string;
  truncatedNote?: string;
}

export interface AppState {
  pack: PackState;
  backend?: Backend;
  /** why the backend is not the preferred one (e.g. no WebGPU) */
  backendNotice?: string;
  settings: Settings;
  busy: boolean;
  progress: StepProgress | null;
  gallery: GalleryItem[];
  error: string | null;
  /** non-fatal, e.g. the prompt was truncated */
  warning: string | null;

  setSettings(patch: Partial<Settings>): void;
  setPack(patch: Partial<PackState>): void;
  setBackend(backend: Backend, notice?: string): void;
  setBusy(busy: boolean): void;
  setProgress(progress: StepProgress | null): void;
  addImages(items: GalleryItem[]): void;
  clearGallery(): void;
  setError(error: string | null): void;
  setWarning(warning: string | null): void;
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

export const useAppStore = create<AppState>()((set) => ({
  pack: { phase: 'idle', loadedBytes: 0, totalBytes: 0, fromCache: false },
  settings: DEFAULT_SETTINGS,
  busy: false,
  progress: null,
  gallery: [],
  error: null,
  warning: null,

  setSettings: (patch) => set((s) => ({ settings: { ...s.settings, ...patch } })),
  setPack: (patch) => set((s) => ({ pack: { ...s.pack, ...patch } })),
  setBackend: (backend, notice) => set({ backend, backendNotice: notice }),
  setBusy: (busy) => set({ busy }),
  setProgress: (progress) => set({ progress }),
  addImages: (items) => set((s) => ({ gallery: [...items, ...s.gallery] })),
  clearGallery: () =>
    set((s) => {
      for (const item of s.gallery) URL.revokeObjectURL(item.url);
      return { gallery: [] };
    }),
  setError: (error) => set({ error }),
  setWarning: (warning) => set({ warning }),
}));
