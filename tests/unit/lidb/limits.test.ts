// A LiDB's header and tensor count are capped at what a LiDB for the pack's layers can hold
// (lidbLimits), so a 35 MB header or a flood of tensors is refused before it is parsed.
import { describe, expect, it } from 'vitest';
import { initLidb, LidbFileError, LidbRng, lidbToLoraFile, makeAuxBases, readLidbFile, sd15LoraLayers, writeLidbFile } from '../../../src/lidb';
import { lidbLimits } from '../../../src/lidb/file';
import { readSafetensors, writeSafetensors } from '../../../src/safetensors';
import { thrownBy } from '../thrownBy';
import { AUX_SHA, SMALL_LAYERS } from './helpers';

const meta = { packId: 'tiny', auxSha256: AUX_SHA, trigger: 'sks', fineTune: { steps: 40, learningRate: 0.01 }, seed: 1, name: 'Ada' };

function code(f: () => unknown): string {
  const e = thrownBy(LidbFileError, f);
  return `${e.code}: ${e.message}`;
}

describe('LiDB limits', () => {
  it('every LiDB the app writes reads back, for the SD1.5 layer list and the small one', () => {
    for (const layers of [sd15LoraLayers(), SMALL_LAYERS]) {
      const lidb = initLidb(layers, 1, new LidbRng(5));
      const bytes = writeLidbFile(lidb, meta);
      const header = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      const limits = lidbLimits(layers);
      // the margin is real: the cap is at least twice what the header needs
      expect(header * 2).toBeLessThanOrEqual(limits.maxHeaderBytes!);
      expect(readLidbFile(bytes, { packId: 'tiny', auxSha256: AUX_SHA, layers }).lidb.layers.size).toBe(layers.length);
    }
    expect(lidbLimits(sd15LoraLayers()).maxHeaderBytes).toBeLessThan(1024 * 1024);
  });

  it('a 35 MB header is refused as header-too-large, naming the cap and the layer count', () => {
    const lidb = initLidb(SMALL_LAYERS, 1, new LidbRng(5));
    const bytes = writeLidbFile(lidb, { ...meta, name: 'x'.repeat(35 * 2 ** 20) });
    const cap = lidbLimits(SMALL_LAYERS).maxHeaderBytes;
    expect(code(() => readLidbFile(bytes, { packId: 'tiny', auxSha256: AUX_SHA, layers: SMALL_LAYERS })))
      .toMatch(new RegExp(`^header-too-large: LiDB file: header length \\d{8} is over the ${cap}-byte limit of a LiDB for this pack's 6 layers$`));
    // the same bytes are a well-formed safetensors file: only the LiDB cap refuses them
    expect(readSafetensors(bytes).tensors.size).toBe(12);
  });

  it('more tensors than a LiDB for the pack can hold are refused before the layers are matched', () => {
    const tensors = Array.from({ length: 3 * SMALL_LAYERS.length + 17 }, (_, i) => ({ name: `t${i}`, dtype: 'F32' as const, shape: [1], bytes: new Uint8Array(4) }));
    expect(code(() => readLidbFile(writeSafetensors(tensors, { format: 'hyperbooth-lidb/1' }), { packId: 'tiny', auxSha256: AUX_SHA, layers: SMALL_LAYERS })))
      .toBe("header-too-large: LiDB file: header lists 35 tensors, more than the 34 of a LiDB for this pack's 6 layers");
    // within the margin, the reader says which tensors do not belong
    expect(code(() => readLidbFile(writeSafetensors(tensors.slice(0, 3), { format: 'hyperbooth-lidb/1', pack_id: 'tiny', aux_sha256: AUX_SHA }), { packId: 'tiny', auxSha256: AUX_SHA, layers: SMALL_LAYERS })))
      .toMatch(/^bad-metadata|^extra-layer/);
  });

  it('a kohya LoRA of the pack given as a LiDB passes the caps and is told to use Import LoRA', () => {
    const aux = makeAuxBases(SMALL_LAYERS, 1);
    const kohya = lidbToLoraFile(initLidb(SMALL_LAYERS, 1, new LidbRng(1, 'k')), aux, SMALL_LAYERS, 'kohya');
    expect(code(() => readLidbFile(kohya, { packId: 'tiny', auxSha256: AUX_SHA, layers: SMALL_LAYERS }))).toMatch(/^wrong-format: .*Import LoRA/);
  });
});
