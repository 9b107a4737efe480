import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import type { Session } from '../../../src/runtime/types';
import {
  BLAZEFACE_MODEL, FACE_FOUND_THRESHOLD, blazeFaceAnchors, blazeFaceInput, createFaceDetectorSession, detectFaces, searchWindows, weightedNms,
  type FaceDetection,
} from '../../../src/face/blazeface';
import { blazeFaceModelPath, readBlazeFaceModel } from '../../../src/face/blazefaceNode';
import { decodeImageBytes } from '../../../src/face/decodeNode';
import { createRgbaImage, type RgbaImage } from '../../../src/face/image';
import { fixture } from './helpers';

let session: Session;
beforeAll(async () => {
  session = await createFaceDetectorSession(createNodeRuntime(), await readBlazeFaceModel());
});
afterAll(async () => {
  await session?.release();
});

const load = (name: string) => decodeImageBytes(fixture(name)).image;

/** Face centre and size as fractions of the image's width and height. */
function normalized(face: FaceDetection, img: RgbaImage) {
  return {
    cx: (face.box.x + face.box.w / 2) / img.width,
    cy: (face.box.y + face.box.h / 2) / img.height,
    w: face.box.w / img.width,
    h: face.box.h / img.height,
  };
}

describe('BlazeFace model and anchors', () => {
  it('comes from the npm package', () => {
    expect(blazeFaceModelPath().endsWith(BLAZEFACE_MODEL)).toBe(true);
    expect(session.inputNames).toEqual(['input:0']);
    expect([...session.outputNames].sort()).toEqual(['Identity:0', 'Identity_1:0', 'Identity_2:0', 'Identity_3:0']);
  });

  it('has 896 anchors: 16×16×2 then 8×8×6 cell centres', () => {
    const a = blazeFaceAnchors();
    expect(a.length).toBe(896 * 2);
    expect([a[0], a[1], a[2], a[3]]).toEqual([0.5 / 16, 0.5 / 16, 0.5 / 16, 0.5 / 16]);
    expect([a[4], a[5]]).toEqual([1.5 / 16, 0.5 / 16]);
    expect([a[512 * 2], a[512 * 2 + 1]]).toEqual([0.5 / 8, 0.5 / 8]);
    expect([a[895 * 2], a[895 * 2 + 1]]).toEqual([7.5 / 8, 7.5 / 8]);
  });

  it('letterboxes: a wide image is centred between black bars at [-1, 1]', () => {
    const img = createRgbaImage(200, 100);
    img.data.fill(255);
    const { tensor, letterbox } = blazeFaceInput(img);
    expect(tensor.dims).toEqual([1, 128, 128, 3]);
    expect(letterbox).toEqual({ window: { x: 0, y: 0, w: 200, h: 100 }, scale: 0.64, dx: 0, dy: 32 });
    const d = tensor.data as Float32Array;
    expect(d[(10 * 128 + 64) * 3]).toBe(-1); // in the top bar
    expect(d[(64 * 128 + 64) * 3]).toBeCloseTo(1, 6); // in the image
    expect(d[(100 * 128 + 64) * 3]).toBe(-1); // in the bottom bar
  });
});

describe('search windows', () => {
  it('a square image is searched whole', () => {
    expect(searchWindows(512, 512)).toEqual([{ x: 0, y: 0, w: 512, h: 512 }]);
  });

  it('a tall or wide image also in squares of its short side, overlapping by half, ends included', () => {
    expect(searchWindows(768, 1024)).toEqual([
      { x: 0, y: 0, w: 768, h: 1024 },
      { x: 0, y: 0, w: 768, h: 768 },
      { x: 0, y: 256, w: 768, h: 768 },
    ]);
    const wide = searchWindows(1100, 512);
    expect(wide.length).toBe(1 + 4);
    expect(wide[1]).toEqual({ x: 0, y: 0, w: 512, h: 512 });
    expect(wide[4]).toEqual({ x: 588, y: 0, w: 512, h: 512 });
    for (let i = 2; i < wide.length; i++) expect(wide[i].x - wide[i - 1].x).toBeLessThanOrEqual(256);
  });
});

describe('finding faces in the test photos', () => {
  it('astronaut.png: one face, score > 0.75 near (0.44, 0.25), size ≈ 0.18', async () => {
    const img = load('astronaut.png');
    const faces = await detectFaces(session, img);
    expect(faces.length).toBe(1);
    expect(faces[0].score).toBeGreaterThan(FACE_FOUND_THRESHOLD);
    const n = normalized(faces[0], img);
    expect(n.cx).toBeCloseTo(0.44, 1);
    expect(n.cy).toBeCloseTo(0.25, 1);
    expect(Math.abs(n.cx - 0.44)).toBeLessThan(0.02);
    expect(Math.abs(n.cy - 0.25)).toBeLessThan(0.02);
    expect(Math.abs(n.w - 0.18)).toBeLessThan(0.02);
    expect(Math.abs(n.h - 0.18)).toBeLessThan(0.02);
    // keypoints: eyes above the nose above the mouth, all inside the box; right eye on the image's left
    const [rightEye, leftEye, nose, mouth] = faces[0].keypoints;
    expect(faces[0].keypoints.length).toBe(6);
    expect(rightEye.x).toBeLessThan(leftEye.x);
    expect(Math.max(rightEye.y, leftEye.y)).toBeLessThan(nose.y);
    expect(nose.y).toBeLessThan(mouth.y);
    const { x, y, w, h } = faces[0].box;
    for (const p of [rightEye, leftEye, nose, mouth]) {
      expect(p.x).toBeGreaterThan(x);
      expect(p.x).toBeLessThan(x + w);
      expect(p.y).toBeGreaterThan(y);
      expect(p.y).toBeLessThan(y + h);
    }
  });

  it('astronaut.jpg and astronaut.webp: the same face', async () => {
    const png = normalized((await detectFaces(session, load('astronaut.png')))[0], load('astronaut.png'));
    for (const name of ['astronaut.jpg', 'astronaut.webp']) {
      const img = load(name);
      const faces = await detectFaces(session, img);
      expect(faces[0].score).toBeGreaterThan(FACE_FOUND_THRESHOLD);
      const n = normalized(faces[0], img);
      for (const k of ['cx', 'cy', 'w', 'h'] as const) expect(Math.abs(n[k] - png[k]), `${name} ${k}`).toBeLessThan(0.01);
    }
  });

  it('the 1536×2048 portrait: shrunk first, the face where the upscaled astronaut puts it', async () => {
    const img = load('astronaut_portrait_1536x2048.jpg');
    expect(img).toMatchObject({ width: 768, height: 1024 });
    const faces = await detectFaces(session, img);
    expect(faces[0].score).toBeGreaterThan(FACE_FOUND_THRESHOLD);
    // astronaut ×3, 256 px down on 2048: centre (0.44·1536, 256 + 0.25·1536) = (0.44, 0.3125) of
    // the portrait, width 0.18·1536/1536 = 0.18, height 0.18·1536/2048 = 0.135
    const n = normalized(faces[0], img);
    expect(Math.abs(n.cx - 0.44)).toBeLessThan(0.02);
    expect(Math.abs(n.cy - 0.3125)).toBeLessThan(0.02);
    expect(Math.abs(n.w - 0.18)).toBeLessThan(0.03);
    expect(Math.abs(n.h - 0.135)).toBeLessThan(0.025);
  });

  it('maps boxes back through the letterbox: the astronaut pasted into a wide canvas is found where it was pasted', async () => {
    const src = load('astronaut.png');
    const direct = (await detectFaces(session, src))[0];
    const wide = createRgbaImage(1100, 512);
    wide.data.fill(90);
    for (let y = 0; y < 512; y++) wide.data.set(src.data.subarray(y * 512 * 4, (y + 1) * 512 * 4), (y * 1100 + 300) * 4);
    const faces = await detectFaces(session, wide);
    expect(faces[0].score).toBeGreaterThan(FACE_FOUND_THRESHOLD);
    // 11 model pixels wide in the whole-image pass, too small for the model: found in a window
    expect(Math.abs(faces[0].box.x - (direct.box.x + 300))).toBeLessThan(6);
    expect(Math.abs(faces[0].box.y - direct.box.y)).toBeLessThan(6);
    expect(Math.abs(faces[0].box.w - direct.box.w)).toBeLessThan(8);
  });

  it('coffee.png and chelsea.png (a cat): no face above the threshold', async () => {
    for (const name of ['coffee.png', 'chelsea.png']) {
      const faces = await detectFaces(session, load(name), { minScore: 0 });
      expect(faces.length).toBeGreaterThan(0);
      expect(faces[0].score, name).toBeLessThan(FACE_FOUND_THRESHOLD);
      expect(await detectFaces(session, load(name), { minScore: FACE_FOUND_THRESHOLD })).toEqual([]);
    }
  });

  it('results are sorted best first', async () => {
    const faces = await detectFaces(session, load('coffee.png'), { minScore: 0 });
    for (let i = 1; i < faces.length; i++) expect(faces[i].score).toBeLessThanOrEqual(faces[i - 1].score);
  });
});

describe('weighted non-maximum suppression', () => {
  const cand = (score: number, cx: number, cy: number, size: number) => {
    const values = new Float32Array(16);
    values.set([cx, cy, size, size]);
    for (let k = 4; k < 16; k += 2) values.set([cx, cy], k);
    return { score, values };
  };

  it('merges overlapping boxes into their score-weighted mean and keeps distant ones apart', () => {
    const kept = weightedNms([cand(0.6, 12, 10, 10), cand(0.9, 10, 10, 10), cand(0.8, 60, 60, 8)], 0.3, 10);
    expect(kept.length).toBe(2);
    expect(kept[0].score).toBe(0.9);
    expect(kept[0].values[0]).toBeCloseTo((0.9 * 10 + 0.6 * 12) / 1.5, 5);
    expect(kept[1].score).toBe(0.8);
    expect(kept[1].values[0]).toBeCloseTo(60, 5);
    expect(weightedNms([cand(0.6, 12, 10, 10), cand(0.9, 10, 10, 10), cand(0.8, 60, 60, 8)], 0.3, 1).length).toBe(1);
  });
});
