import { describe, it, expect } from 'vitest';
import { requiredWebgpuFeatures } from '../../../src/packs/webgpuFeatures';

describe('requiredWebgpuFeatures', () => {
  it('asks for shader-f16 only when some graph computes in float16', () => {
    expect(requiredWebgpuFeatures(undefined)).toEqual([]);
    const fp32 = { weights: 'float32', compute: { unet: 'float32', textEncoder: 'float32', vaeDecoder: 'float32', vaeEncoder: 'float32', train: 'float32' } } as const;
    expect(requiredWebgpuFeatures(fp32)).toEqual([]);
    expect(requiredWebgpuFeatures({ ...fp32, weights: 'float16' })).toEqual([]);
    expect(requiredWebgpuFeatures({ ...fp32, compute: { ...fp32.compute, unet: 'float16' } })).toEqual(['shader-f16']);
  });
});
