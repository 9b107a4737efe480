// The one place a new library record is made, whether it came from a fine-tune, an imported
// LiDB file or an imported LoRA: id, date and hash are filled in here, and optional fields that
// are unknown stay absent instead of being stored as undefined.
import type { LidbInfo } from '../../workers/api';
import { newRecordId, sha256Hex, type NewPersonalization } from './storage/personalizations';

/** What the caller knows; the rest (id, creation date, sha256 of the file) is made here. */
export type RecordInput = Omit<NewPersonalization, 'id' | 'createdAt' | 'sha256'>;

export async function createRecord(input: RecordInput, now: number = Date.now()): Promise<NewPersonalization> {
  const record: NewPersonalization = {
    id: newRecordId(),
    name: input.name,
    createdAt: now,
    packId: input.packId,
    trigger: input.trigger,
    rank: input.rank,
    source: input.source,
    weightsFile: input.weightsFile,
    sha256: await sha256Hex(input.weightsFile),
  };
  if (input.kind === 'lora') {
    record.kind = 'lora';
    record.strength = input.strength ?? 1;
  }
  if (input.thumbnailPng) record.thumbnailPng = input.thumbnailPng;
  if (input.settings) record.settings = input.settings;
  if (input.losses) record.losses = input.losses;
  if (input.stoppedEarly) record.stoppedEarly = input.stoppedEarly;
  return record;
}

/** A LiDB file's own account of itself, as record fields. */
export function lidbFields(info: LidbInfo): Pick<RecordInput, 'packId' | 'trigger' | 'rank' | 'settings' | 'stoppedEarly'> {
  return { packId: info.packId, trigger: info.trigger, rank: info.rank, settings: info.settings, stoppedEarly: info.stoppedEarly };
}
