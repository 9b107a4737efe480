// The names of packs made in the browser: ids from a checkpoint's file name that the packer
// accepts and that never overwrite a stored pack, and the reference the app passes around.
import { describe, expect, it } from 'vitest';
import { packIdForFile, storedManifestUrl, storedPackId, storedPackRef, STORED_PACK_PATH } from '../../../src/packs/storedPacks';
import { packFileUrl } from '../../../src/packs/manifest';

describe('stored pack names', () => {
  it('makes an id the packer accepts from any file name, never one already taken', () => {
    expect(packIdForFile('v1-5-pruned-emaonly.safetensors', new Set())).toBe('v1-5-pruned-emaonly');
    expect(packIdForFile('Realistic Vision V5.1 (fp16).safetensors', new Set())).toBe('realistic-vision-v5.1-fp16');
    expect(packIdForFile('___.safetensors', new Set())).toBe('model');
    expect(packIdForFile('Ünïcode 模型.safetensors', new Set())).toBe('n-code');
    expect(packIdForFile('model.safetensors', new Set(['model', 'model-2']))).toBe('model-3');
    for (const name of ['a b.safetensors', '-x-.ckpt', `${'long'.repeat(40)}.safetensors`]) {
      expect(packIdForFile(name, new Set())).toMatch(/^[a-z0-9][a-z0-9._-]{0,59}$/);
    }
  });

  it('tells a stored pack from a URL pack, and gives loadPack a manifest URL whose files stay inside it', () => {
    const ref = storedPackRef('sd15');
    expect(storedPackId(ref)).toBe('sd15');
    expect(storedPackId('https://example.com/models/sd15/manifest.json')).toBeUndefined();
    const manifest = storedManifestUrl('http://127.0.0.1:5173', 'sd15');
    expect(manifest).toBe(`http://127.0.0.1:5173${STORED_PACK_PATH}sd15/manifest.json`);
    expect(packFileUrl(new URL('.', manifest).href, 'unet/weights.0.bin')).toBe(`http://127.0.0.1:5173${STORED_PACK_PATH}sd15/unet/weights.0.bin`);
  });
});
