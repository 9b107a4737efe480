import { describe, expect, it } from 'vitest';
import { timestepTensor } from '../../../src/pipeline/timestep';
import { chwToRgba, rgbaToChw } from '../../../src/pipeline/image';
import { loraFeeds, zeroLoraFeeds } from '../../../src/pipeline/lora';
import { modelSource } from '../../../src/pipeline/modelSource';
import { fromHalf } from '../../../src/onnx/float16';
import type { LoraLayer } from '../../../src/packs/manifest';

describe('timestepTensor', () => {
  it('follows the dtype and shape the pack declares', () => {
    expect(timestepTensor({ timestepDtype: 'float32', timestepShape: 'batch' }, 981, 2)).toEqual({ type: 'float32', dims: [2], data: new Float32Array([981, 981]) });
    const half = timestepTensor({ timestepDtype: 'float16', timestepShape: 'scalar' }, 500, 2);
    expect(half.type).toBe('float16');
    expect(half.dims).toEqual([]);
    expect(fromHalf((half.data as Uint16Array)[0])).toBe(500);
    expect(timestepTensor({ timestepDtype: 'int64', timestepShape: 'batch' }, 951.6, 1)).toEqual({ type: 'int64', dims: [1], data: new BigInt64Array([952n]) });
  });
});

describe('image conversion', () => {
  it('maps [-1, 1] to 0..255, clamps outside values and sets alpha', () => {
    // 3 channels, 1×3 image: pixel values -1 (and beyond), 0, 1 (and beyond)
    const chw = new Float32Array([-1, 0, 1, -5, 0, 5, -1, 0.5, 1]);
    const { rgba, width, height } = chwToRgba(chw, 3, 1, 3);
    expect([width, height]).toEqual([3, 1]);
    expect(Array.from(rgba)).toEqual([0, 0, 0, 255, 128, 128, 191, 255, 255, 255, 255, 255]);
  });

  it('round-trips RGBA → CHW → RGBA', () => {
    const rgba = new Uint8ClampedArray([10, 20, 30, 255, 200, 100, 0, 255]);
    expect(Array.from(chwToRgba(rgbaToChw(rgba, 1, 2), 3, 1, 2).rgba)).toEqual(Array.from(rgba));
  });
});

describe('LoRA feeds', () => {
  const layers: LoraLayer[] = [
    { name: 'a.to_q', target: 'unet', nIn: 4, nOut: 3 },
    { name: 'b.q_proj', target: 'text_encoder', nIn: 2, nOut: 2 },
  ];
  it('gives each layer of a graph rank-1 zeros unless values are set', () => {
    const zeros = zeroLoraFeeds(layers, 'unet');
    expect(Object.keys(zeros)).toEqual(['lora.a.to_q.down', 'lora.a.to_q.up']);
    expect(zeros['lora.a.to_q.down'].dims).toEqual([4, 1]);
    expect(zeros['lora.a.to_q.up'].dims).toEqual([1, 3]);
    expect(loraFeeds(layers, 'unet', zeros)).toBe(zeros);
    const v = { rank: 2, down: new Float32Array(8).fill(1), up: new Float32Array(6).fill(2) };
    const set = loraFeeds(layers, 'unet', zeros, new Map([['a.to_q', v]]));
    expect(set['lora.a.to_q.down']).toEqual({ type: 'float32', dims: [4, 2], data: v.down });
    expect(set['lora.a.to_q.up'].dims).toEqual([2, 3]);
    // text-encoder values never leak into the UNet feeds
    expect(Object.keys(loraFeeds(layers, 'unet', zeros, new Map([['b.q_proj', v]])))).toEqual(Object.keys(zeros));
  });
});

describe('modelSource', () => {
  it('hands external data to the runtime by its location relative to the graph folder', () => {
    const files = (p: string) => new TextEncoder().encode(p);
    const src = modelSource('UNet', { file: 'unet/model.onnx', externalData: ['unet/weights.pb'] }, files);
    expect(src.externalData!.map((e) => e.path)).toEqual(['weights.pb']);
    expect(new TextDecoder().decode(src.externalData![0].data)).toBe('unet/weights.pb');
    expect(() => modelSource('UNet', { file: 'unet/model.onnx', externalData: ['other/w.pb'] }, files)).toThrow(/not in the graph's folder unet\//);
  });
});
