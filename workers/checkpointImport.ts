// "Add a model from a file…": a .safetensors checkpoint converted in this worker into a pack
// stored in the browser. The file is read with File.slice one tensor at a time
// (blobByteSource); the pack's files go straight into storage (OPFS in the worker). A refused,
// failed or cancelled import removes what it wrote, so storage never holds half a pack.
import { blobByteSource } from '../src/checkpoint/byteSource';
import { convertCheckpointInto, type CheckpointProgress } from '../src/checkpoint/convertCheckpoint';
import { readClipBpeTextInBrowser } from '../src/diffusion/clipBpeBrowser';
import type { PackSink } from '../src/packer/sink';
import { isQuotaError } from '../src/packs/cache';
import { holdImportIfArmed } from './faultHooks';
import { opfsPackSink } from './opfsSink';
import { deleteStoredPack, listStoredPacks, packIdForFile, storedPackRef, unfinishedImports } from '../src/packs/storedPacks';
import type { ImportCheckpointOptions, ImportCheckpointResult, ImportProgress } from './api';

/** Thrown when cancelImport() stopped an import. */
export class ImportCancelledError extends Error {
  constructor() {
    super('The import was cancelled; nothing was kept.');
    this.name = 'ImportCancelledError';
  }
}

/** Where imported packs are kept: OPFS in the worker, memory in the Node tests. */
export interface PackStorage {
  /** ids of the finished packs */
  packIds(): Promise<string[]>;
  /** removes imports that never finished (a closed tab) */
  removeUnfinished(): Promise<void>;
  /** an empty folder for pack `id` */
  open(id: string): Promise<PackSink & { remove(): Promise<void> }>;
}

export const opfsStorage: PackStorage = {
  packIds: async () => (await listStoredPacks()).map((p) => p.id),
  async removeUnfinished() {
    for (const id of await unfinishedImports()) await deleteStoredPack(id);
  },
  open: (id) => opfsPackSink(id),
};

const STAGE_TEXT: Record<CheckpointProgress['stage'], string> = {
  index: 'Reading the header',
  graphs: 'Building the graphs',
  text_encoder: 'Text encoder',
  vae_decoder: 'VAE decoder',
  vae_encoder: 'VAE encoder',
  unet: 'UNet',
  done: 'Done',
};

export class CheckpointImport {
  /** one per importCheckpoint() call not yet settled (running or waiting in the queue) */
  private readonly pending = new Set<AbortController>();

  constructor(
    private readonly storage: PackStorage = opfsStorage,
    private readonly bpeText: () => Promise<string> = readClipBpeTextInBrowser,
  ) {}

  /** made at the call, so cancel() also reaches an import still waiting for the worker */
  begin(): AbortController {
    const c = new AbortController();
    this.pending.add(c);
    return c;
  }

  /** stops every import running or waiting: each rejects with ImportCancelledError */
  cancel(): void {
    for (const c of this.pending) c.abort(new ImportCancelledError());
  }

  async run(file: Blob, options: ImportCheckpointOptions, onProgress: (p: ImportProgress) => void, controller = this.begin()): Promise<ImportCheckpointResult> {
    try {
      if (!(file instanceof Blob)) throw new Error('importCheckpoint takes the checkpoint as a File');
      const name = (file as File).name || 'model.safetensors';
      controller.signal.throwIfAborted();
      await this.storage.removeUnfinished();
      const id = packIdForFile(name, new Set(await this.storage.packIds()));
      const sink = await this.storage.open(id);
      const log: string[] = [];
      try {
        await holdImportIfArmed(controller.signal);
        const result = await convertCheckpointInto(blobByteSource(file, name), sink, this.bpeText, {
          id,
          ...(options.imageSize !== undefined ? { imageSize: options.imageSize } : {}),
          ...(options.fp16 ? { fp16: true } : {}),
          signal: controller.signal,
          log: (line) => log.push(line),
          onProgress: (p) => onProgress({ stage: p.stage, label: STAGE_TEXT[p.stage], done: p.done, total: p.total }),
        });
        return { id, manifestUrl: storedPackRef(id), name: result.manifest.name, bytes: result.totalBytes, warnings: result.warnings, log };
      } catch (e) {
        await sink.remove();
        if (isQuotaError(e)) throw new Error(`this browser's storage for the site is full, so the pack made from ${name} did not fit (${(e as Error).message}). A pack with float32 weights takes about twice the size of an fp16 checkpoint, with float16 weights about the same: delete a stored pack or free disk space, and add it again.`);
        throw e;
      }
    } catch (e) {
      throw controller.signal.aborted ? controller.signal.reason : e;
    } finally {
      this.pending.delete(controller);
    }
  }
}
