// The text encoder's side of a pack: its CLIP tokenizer, token ids in the dtype the pack's
// exporter chose (manifest.text.inputDtype), and one run from ids to last_hidden_state.
import { ClipTokenizer } from '../diffusion/tokenizer';
import { IO } from '../packs/graphIO';
import type { PackManifest } from '../packs/manifest';
import type { PackContents } from '../packs/types';
import type { Feeds, Session, Tensor } from '../runtime/types';

export function packTokenizer(pack: PackContents): ClipTokenizer {
  return ClipTokenizer.fromJSON(JSON.parse(new TextDecoder().decode(pack.files(pack.manifest.tokenizer))));
}

/** One prompt's ids per row (each exactly maxLength long) as the text encoder's [rows, maxLength] input. */
export function tokenIdsTensor(text: PackManifest['text'], rows: readonly Int32Array[]): Tensor {
  const { maxLength } = text;
  const ids = new Int32Array(rows.length * maxLength);
  rows.forEach((row, i) => {
    if (row.length !== maxLength) throw new Error(`token ids row ${i} has ${row.length} ids, the text encoder takes ${maxLength}`);
    ids.set(row, i * maxLength);
  });
  const dims = [rows.length, maxLength];
  return text.inputDtype === 'int64'
    ? { type: 'int64', dims, data: BigInt64Array.from(ids, (v) => BigInt(v)) }
    : { type: 'int32', dims, data: ids };
}

/** last_hidden_state [rows, maxLength, hidden] for `ids` with the given LoRA slot feeds. */
export async function encodeTokens(textEncoder: Session, ids: Tensor, slots: Feeds): Promise<Tensor> {
  const out = await textEncoder.run({ [IO.textEncoder.input]: ids, ...slots }, [IO.textEncoder.output]);
  return out[IO.textEncoder.output];
}
