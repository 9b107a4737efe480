// The personal weights generate() adds to the pack's LoRA slots: one LiDB file made for the
// loaded pack, or one imported kohya / PEFT LoRA (never both). This module checks a file against
// the pack, makes its slots, describes it to the UI in typed fields, and writes it out again.
import type { FineTuneSettings, LidbInfo, LoraFileFormat, UseLoraResult } from './api';
import type { PackContents } from '../src/packs/types';
import type { LoraValues } from '../src/pipeline/lora';
import { readAuxFile, type AuxBases } from '../src/lidb/aux';
import { exportLora, importLora, personalToLoraFile } from '../src/lidb/loraFormats';
import { personalSlots, type PersonalWeights as LidbAndResidual } from '../src/lidb/personal';
import { readPersonalFile, type PersonalFileMeta } from '../src/lidb/personalFile';
import { RELAXATIONS, type Relaxation } from '../src/finetune/relaxation';
import { maxSlotRank } from '../src/lidb/slots';

/** A LiDB file (with its residual, when it has one) made for the loaded pack, with its slots. */
interface LidbWeights {
  kind: 'lidb';
  bytes: Uint8Array;
  weights: LidbAndResidual;
  meta: PersonalFileMeta;
  slots: LoraValues;
}

/** An imported kohya / PEFT LoRA in the slots instead of a LiDB. */
interface LoraWeights {
  kind: 'lora';
  bytes: Uint8Array;
  strength: number;
  slots: LoraValues;
}

type PersonalWeights = LidbWeights | LoraWeights;

/**
 * The file's `fine_tune` JSON in typed fields. Files written by other versions may lack any of
 * them (or spell the learning rate `learning_rate`): what is missing is left out, not guessed.
 */
export function lidbInfo(meta: Omit<PersonalFileMeta, 'formatVersion'> & { formatVersion?: 1 | 2 }, fileBytes?: number): LidbInfo {
  const ft = meta.fineTune;
  const info: LidbInfo = { packId: meta.packId, trigger: meta.trigger, rank: meta.rank, seed: meta.seed };
  if (meta.name !== undefined) info.name = meta.name;
  if (meta.residualRank !== undefined) info.residualRank = meta.residualRank;
  if (fileBytes !== undefined) info.fileBytes = fileBytes;
  const settings: FineTuneSettings = {
    steps: Number(ft.steps),
    learningRate: Number(ft.learningRate ?? ft.learning_rate),
    rank: Number(ft.rank ?? meta.rank),
    seed: Number(ft.seed ?? meta.seed),
  };
  if (Object.values(settings).every((v) => typeof v === 'number' && Number.isFinite(v))) {
    // files from before the relaxation setting trained the LiDB itself: the aux subspace
    const relaxation: Relaxation = RELAXATIONS.includes(ft.relaxation as Relaxation) ? ft.relaxation as Relaxation : 'aux-subspace';
    info.settings = { ...settings, relaxation };
  }
  if (typeof ft.stepsDone === 'number' && Number.isInteger(ft.stepsDone) && ft.stepsDone >= 0) info.stepsDone = ft.stepsDone;
  if (typeof ft.stoppedEarly === 'string' && ft.stoppedEarly) info.stoppedEarly = ft.stoppedEarly;
  return info;
}

const LORA_FORMATS = ['kohya', 'peft'] as const;
const isLoraFormat = (f: unknown): f is (typeof LORA_FORMATS)[number] => LORA_FORMATS.includes(f as never);

/** The active personal weights of one worker; a pack swap keeps them only when they fit the new pack. */
export class PersonalWeightsSlot {
  private active: PersonalWeights | undefined;
  private readonly auxByPack = new WeakMap<PackContents, AuxBases>();

  /** The active weights' slots under the request's own (a request's layer wins). */
  slotsOver(lora: LoraValues | undefined): LoraValues | undefined {
    if (!this.active) return lora;
    const merged: LoraValues = new Map(this.active.slots);
    for (const [name, v] of lora ?? []) merged.set(name, v);
    return merged;
  }

  clear(): void {
    this.active = undefined;
  }

  /** Checks a LiDB file against the pack (readLidbFile says why it does not fit) and makes it active. */
  useLidb(pack: PackContents, bytes: Uint8Array): LidbInfo {
    this.active = this.readLidb(pack, bytes);
    return lidbInfo(this.active.meta, bytes.length);
  }

  /** Reads a kohya / PEFT LoRA for the pack's layers (importLora says why it does not fit) and makes it active. */
  useLora(pack: PackContents, bytes: Uint8Array, strength: number): UseLoraResult {
    if (typeof strength !== 'number' || !Number.isFinite(strength)) throw new Error(`the LoRA strength must be a finite number, not ${String(strength)}`);
    const { layers } = pack.manifest.lora;
    const imported = importLora(bytes, layers, { strength });
    this.active = { kind: 'lora', bytes: bytes.slice(), strength, slots: imported.slots };
    return {
      format: imported.format,
      applied: imported.applied.length,
      layers: layers.length,
      ignored: imported.ignored,
      warnings: imported.warnings,
      rank: maxSlotRank(imported.slots),
    };
  }

  /** After a pack swap: the same file is read again for the new pack, and dropped when it does not fit. */
  refit(pack: PackContents): void {
    const a = this.active;
    if (!a) return;
    try {
      if (a.kind === 'lidb') this.useLidb(pack, a.bytes);
      else this.useLora(pack, a.bytes, a.strength);
    } catch {
      this.active = undefined;
    }
  }

  /** The active weights as a file: the LiDB itself, or multiplied out as a kohya / PEFT LoRA. */
  export(pack: PackContents, format: LoraFileFormat): Uint8Array {
    const a = this.active;
    if (!a) throw new Error('There are no personal weights to export yet: personalize or import a LiDB file first.');
    if (format !== 'lidb' && !isLoraFormat(format)) throw new Error(`unknown export format ${JSON.stringify(format)} (use "lidb", "kohya" or "peft")`);
    const { manifest } = pack;
    if (a.kind === 'lora') {
      if (!isLoraFormat(format)) throw new Error('The active weights are an imported LoRA, which has no LiDB form: download them as a kohya or PEFT LoRA.');
      return exportLora(a.slots, manifest.lora.layers, format, { metadata: { hyperbooth_pack: manifest.id } });
    }
    if (format === 'lidb') return a.bytes.slice();
    return personalToLoraFile(a.weights, this.auxOf(pack), manifest.lora.layers, format, {
      metadata: { hyperbooth_pack: manifest.id, hyperbooth_trigger: a.meta.trigger, hyperbooth_lidb_rank: String(a.weights.lidb.rank) },
    });
  }

  private readLidb(pack: PackContents, bytes: Uint8Array): LidbWeights {
    const { manifest } = pack;
    const aux = this.auxOf(pack);
    const { weights, meta } = readPersonalFile(bytes, { packId: manifest.id, auxSha256: manifest.lidb!.auxSha256, layers: manifest.lora.layers });
    return { kind: 'lidb', bytes: bytes.slice(), weights, meta, slots: personalSlots(weights, aux, manifest.lora.layers) };
  }

  private auxOf(pack: PackContents): AuxBases {
    const { manifest } = pack;
    if (!manifest.lidb) throw new Error(`model pack "${manifest.id}" has no LiDB aux bases, so it cannot use personal weights`);
    let aux = this.auxByPack.get(pack);
    if (!aux) {
      aux = readAuxFile(pack.files(manifest.lidb.aux), manifest.lora.layers);
      this.auxByPack.set(pack, aux);
    }
    return aux;
  }
}
