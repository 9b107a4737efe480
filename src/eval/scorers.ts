// The evaluation's three scorers, fitted on the synthetic world's training identities:
// - identity recognizer (counterpart of the paper's FaceRec): hand-designed features
//   (features.ts) → standardized → ridge projection onto the training identities; two images
//   are compared by the cosine of their projections;
// - style classifier (counterpart of CLIP-T): multinomial logistic regression on style
//   features → probability of each dataset style;
// - image descriptor (counterpart of CLIP-I/DINO): fixed features centred on the training
//   images' mean, compared by cosine.
// No CNN: these are fixed feature extractors with fitted linear maps, enough for a world whose
// renderer is known (the accuracies are measured in accuracy.ts and kept in the model file).
import type { RgbaImage } from '../face/image';
import { identitySeed, photoSeed, renderPhoto, renderStyled, sampleIdentity, STYLES, type Style } from '../dataset';
import { cosine, identityFeatures, imageDescriptor, styleFeatures } from './features';
import { fitRidgeClasses, fitSoftmax, fitStandardizer, project, softmax, softmaxLogits, standardize, type SoftmaxModel, type Standardizer } from './linear';

export const SCORERS_FORMAT = 'hyperbooth-eval-scorers';

export interface Scorers {
  /** identity embedding; compare two with `cosine` */
  identity(img: RgbaImage): Float32Array;
  /** probability of each of STYLES */
  styleProbabilities(img: RgbaImage): Float32Array;
  /** generic descriptor, centred; compare two with `cosine` */
  descriptor(img: RgbaImage): Float32Array;
  readonly model: ScorersModel;
}

export interface FitSettings {
  /** training identities (world 0 of the train split) */
  ids: number;
  /** photos of each identity in the photo style */
  photos: number;
  /** styled photos of each identity, one per non-photo style, at these photo numbers */
  styledPhotos: number;
  ridgeLambda: number;
  softmax: { iterations: number; learningRate: number; l2: number };
}

export const DEFAULT_FIT: FitSettings = {
  ids: 200,
  photos: 6,
  styledPhotos: 1,
  ridgeLambda: 3000,
  softmax: { iterations: 1500, learningRate: 0.5, l2: 1e-4 },
};

export interface ScorersModel {
  format: typeof SCORERS_FORMAT;
  version: 1;
  fit: FitSettings;
  identity: { standardizer: Standardizer; classes: number; projection: Float32Array };
  style: { styles: Style[]; standardizer: Standardizer; model: SoftmaxModel };
  descriptor: { mean: Float32Array };
  /** measured on held-out renders when the model was fitted (accuracy.ts) */
  accuracy?: Record<string, number>;
}

export function scorersFromModel(model: ScorersModel): Scorers {
  const { identity, style, descriptor } = model;
  return {
    model,
    identity: (img) => project(identity.projection, identity.classes, standardize(identity.standardizer, identityFeatures(img))),
    styleProbabilities: (img) => softmax(softmaxLogits(style.model, standardize(style.standardizer, styleFeatures(img)))),
    descriptor: (img) => imageDescriptor(img).map((v, i) => v - descriptor.mean[i]),
  };
}

export interface FitProgress { stage: 'render' | 'identity' | 'style'; done: number; total: number }

/** Renders the training identities and fits all three scorers (about a minute on 2 cores at the defaults). */
export function fitScorers(settings: FitSettings = DEFAULT_FIT, onProgress?: (p: FitProgress) => void): ScorersModel {
  const idRows: Float32Array[] = [];
  const idLabels: number[] = [];
  const styleRows: Float32Array[] = [];
  const styleLabels: number[] = [];
  const descriptors: Float32Array[] = [];
  for (let i = 0; i < settings.ids; i++) {
    const seed = identitySeed('train', i, 0);
    const id = sampleIdentity(seed);
    for (let k = 0; k < settings.photos; k++) {
      const img = renderPhoto(id, photoSeed(seed, k));
      idRows.push(identityFeatures(img));
      idLabels.push(i);
      descriptors.push(imageDescriptor(img));
      if (k === 0) { styleRows.push(styleFeatures(img)); styleLabels.push(0); }
    }
    for (let k = 0; k < settings.styledPhotos; k++) {
      for (let s = 1; s < STYLES.length; s++) {
        // a photo seed of its own per style, so poses in the style set vary too
        const img = renderStyled(id, STYLES[s], photoSeed(seed, settings.photos + k * STYLES.length + s));
        idRows.push(identityFeatures(img));
        idLabels.push(i);
        descriptors.push(imageDescriptor(img));
        styleRows.push(styleFeatures(img));
        styleLabels.push(s);
      }
    }
    onProgress?.({ stage: 'render', done: i + 1, total: settings.ids });
  }
  onProgress?.({ stage: 'identity', done: 0, total: 1 });
  const idStd = fitStandardizer(idRows);
  const idZ = idRows.map((r) => standardize(idStd, r));
  const projection = fitRidgeClasses(idZ, idLabels, settings.ids, settings.ridgeLambda);
  onProgress?.({ stage: 'style', done: 0, total: 1 });
  const stStd = fitStandardizer(styleRows);
  const model = fitSoftmax(styleRows.map((r) => standardize(stStd, r)), styleLabels, STYLES.length, settings.softmax);
  const mean = new Float32Array(descriptors[0].length);
  for (const d of descriptors) for (let j = 0; j < mean.length; j++) mean[j] += d[j] / descriptors.length;
  return {
    format: SCORERS_FORMAT,
    version: 1,
    fit: settings,
    identity: { standardizer: idStd, classes: settings.ids, projection },
    style: { styles: [...STYLES], standardizer: stStd, model },
    descriptor: { mean },
  };
}

// ---- file format: JSON with float32 arrays as base64 (little-endian) ----

const F32 = '$f32';

function encodeF32(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function decodeF32(s: string): Float32Array {
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

export function serializeScorers(model: ScorersModel): string {
  return JSON.stringify(model, (_k, v) => (v instanceof Float32Array ? { [F32]: encodeF32(v) } : v));
}

export function parseScorers(text: string): ScorersModel {
  const json = JSON.parse(text, (_k, v) => (v && typeof v === 'object' && typeof v[F32] === 'string' ? decodeF32(v[F32]) : v)) as ScorersModel;
  if (json?.format !== SCORERS_FORMAT || json.version !== 1) throw new Error(`not a ${SCORERS_FORMAT} v1 file`);
  const { identity, style, descriptor } = json;
  const d = identity?.standardizer?.mean?.length;
  if (!(identity?.projection instanceof Float32Array) || identity.projection.length !== identity.classes * d) throw new Error('scorers file: identity projection does not match its feature count');
  if (!(style?.model?.weights instanceof Float32Array) || style.model.weights.length !== style.styles.length * (style.standardizer.mean.length + 1)) throw new Error('scorers file: style weights do not match its feature count');
  if (style.styles.join() !== STYLES.join()) throw new Error(`scorers file: styles ${style.styles.join(', ')} differ from the dataset's ${STYLES.join(', ')}`);
  if (!(descriptor?.mean instanceof Float32Array)) throw new Error('scorers file: descriptor mean missing');
  return json;
}

export { cosine };
