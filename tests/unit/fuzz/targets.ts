// Every reader of untrusted bytes, as a fuzz target: its seeds (valid files), the mutations
// that apply to it, and which errors count as typed. Case counts are sized so the whole suite
// runs > 10,000 cases in well under 60 s on a 2-core machine.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import {
  importLora, initLidb, LidbFileError, lidbToLoraFile, LoraFileError, makeAuxBases, readAuxFile, readLidbFile, writeAuxFile,
  writeLidbFile,
} from '../../../src/lidb';
import { LidbRng } from '../../../src/lidb';
import { readSafetensors, SafetensorsError } from '../../../src/safetensors';
import { ManifestError } from '../../../src/packs/manifest';
import { decodeModel, encodeModelWithExternalData } from '../../../src/onnx';
import { readManifest } from '../../../src/packs/loadPack';
import { PackFileError } from '../../../src/packs/verify';
import { PackInputError } from '../../../src/packer';
import { blobByteSource } from '../../../src/checkpoint/byteSource';
import { splitSingleFile } from '../../../src/checkpoint/components';
import { textConfig, unetConfig, vaeConfig } from '../../../src/checkpoint/configs';
import { CheckpointError } from '../../../src/checkpoint/errors';
import { indexSafetensors } from '../../../src/checkpoint/safetensorsIndex';
import { readSchedule } from '../../../src/checkpoint/schedule';
import { loadSourceGraph } from '../../../src/packer/source';
import { ClipTokenizer, TokenizerError } from '../../../src/diffusion';
import { decodeImageBytes } from '../../../src/face/decodeNode';
import { inspectImage } from '../../../src/face/imageInfo';
import { ImageDecodeError } from '../../../src/face/errors';
import { exifApp1, handMadePng, insertAfterApp0, tiffWithOrientation, webpWithExif, fixture as imageFixture } from '../face/helpers';
import { AUX_SHA, randomArray, SMALL_LAYERS } from '../lidb/helpers';
import { byteMutators, jsonTextMutators, type Json, type Mutator } from './mutate';
import type { FuzzTarget } from './runner';
import { lidbMutators, loraMutators, safetensorsMutators } from './safetensorsMutations';

const root = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const codeOf = (...types: (abstract new (...a: never[]) => Error & { code?: string })[]) => (e: unknown): string | undefined => {
  for (const T of types) if (e instanceof T) return (e as { code?: string }).code ?? (e as { kind?: string }).kind ?? T.name;
  return undefined;
};
const all = (...names: Record<string, unknown>[]) => new Set(names.flatMap((m) => Object.keys(m)));

// --- weights: safetensors, LiDB, kohya, PEFT, aux -------------------------------------------

const aux = makeAuxBases(SMALL_LAYERS, 21);
const lidb = initLidb(SMALL_LAYERS, 2, new LidbRng(22));
for (const w of lidb.layers.values()) w.uTrain.set(randomArray(w.uTrain.length, new LidbRng(23), 0.1));
const lidbBytes = writeLidbFile(lidb, { packId: 'tiny', auxSha256: AUX_SHA, trigger: 'sks', fineTune: { steps: 40 }, seed: 7 });
const EXPECTED = { packId: 'tiny', auxSha256: AUX_SHA, layers: SMALL_LAYERS };
const kohya = lidbToLoraFile(lidb, aux, SMALL_LAYERS, 'kohya');
const peft = lidbToLoraFile(lidb, aux, SMALL_LAYERS, 'peft');
const auxBytes = writeAuxFile(aux);
const auxF16 = writeAuxFile(aux, { dtype: 'F16' });

/** structural mutations that a plain safetensors read must refuse (the others only break meaning) */
const SAFETENSORS_RULES = new Set([
  'truncated', 'hugeHeaderLength', 'headerLengthBeyondFile', 'offsetsOutOfRange', 'offsetsOverlapping', 'offsetsWithHole',
  'trailingBytes', 'offsetsNotAPair', 'nonObjectHeader', 'metadataNotStrings', 'invalidUtf8', 'duplicateKey',
]);

export const weightTargets: FuzzTarget[] = [
  {
    name: 'safetensors',
    seeds: [lidbBytes, kohya, auxBytes],
    mutators: { ...safetensorsMutators, ...byteMutators },
    casesPerMutator: 50,
    mustRefuse: SAFETENSORS_RULES,
    read: (b) => readSafetensors(b),
    typedCode: codeOf(SafetensorsError),
  },
  {
    name: 'lidb',
    seeds: [lidbBytes],
    mutators: { ...safetensorsMutators, ...lidbMutators, ...byteMutators },
    casesPerMutator: 50,
    mustRefuse: all(safetensorsMutators, lidbMutators),
    read: (b) => readLidbFile(b, EXPECTED),
    typedCode: codeOf(LidbFileError),
  },
  ...([['kohya', kohya], ['peft', peft]] as const).map(([name, seed]): FuzzTarget => ({
    name,
    seeds: [seed],
    mutators: { ...safetensorsMutators, ...loraMutators, ...byteMutators },
    casesPerMutator: 44,
    mustRefuse: all(safetensorsMutators, loraMutators),
    read: (b) => importLora(b, SMALL_LAYERS),
    typedCode: codeOf(LoraFileError),
  })),
  {
    name: 'aux',
    seeds: [auxBytes, auxF16],
    mutators: { ...safetensorsMutators, ...byteMutators },
    casesPerMutator: 30,
    mustRefuse: SAFETENSORS_RULES,
    read: (b) => readAuxFile(b, SMALL_LAYERS),
    typedCode: codeOf(LidbFileError),
  },
];

// --- pack manifest: bytes through the loader's own reader (JSON, then validateManifest) -------

const manifestText = readFileSync(root('public/models/tiny/manifest.json'));
const manifestJson = JSON.parse(manifestText.toString('utf8')) as Json;
const readManifestBytes = (bytes: Uint8Array) => readManifest('https://packs.example/tiny/manifest.json', async () =>
  new Response(bytes.slice().buffer, { headers: { 'content-type': 'application/json' } }));

// --- tokenizer.json ---------------------------------------------------------------------------

const tokenizerText = readFileSync(root('public/models/tiny/tokenizer/tokenizer.json'));
const tokenizerJson = JSON.parse(tokenizerText.toString('utf8')) as Json;
/** a backtracking regex put where the pre-tokenizer's or the normalizer's pattern is */
const hostileRegex: Mutator<Uint8Array> = (_, rng) => {
  const doc = structuredClone(tokenizerJson) as { pre_tokenizer: { pretokenizers: { pattern?: unknown }[] }; normalizer: { normalizers: { pattern?: unknown }[] } };
  const pattern = { Regex: rng.pick(['(a+)+$', '(x|x)*y', '([a-z]+)*$', '(\\w+\\s?)*$', '^(a|aa)+$', '.*.*.*=.*']) };
  if (rng.chance(0.5)) doc.pre_tokenizer.pretokenizers[0].pattern = pattern;
  else doc.normalizer.normalizers[1].pattern = pattern;
  return new TextEncoder().encode(JSON.stringify(doc));
};
const readTokenizer = (bytes: Uint8Array) => ClipTokenizer.fromJSON(new TextDecoder().decode(bytes)).encode('a photo of sks person, 42', 16);

export const jsonTargets: FuzzTarget[] = [
  {
    name: 'manifest',
    seeds: [new Uint8Array(manifestText)],
    mutators: { ...jsonTextMutators(manifestJson), ...byteMutators },
    casesPerMutator: 140,
    read: readManifestBytes,
    typedCode: codeOf(ManifestError, PackFileError),
  },
  {
    name: 'tokenizer.json',
    seeds: [new Uint8Array(tokenizerText)],
    mutators: { ...jsonTextMutators(tokenizerJson), ...byteMutators, hostileRegex },
    casesPerMutator: 45,
    mustRefuse: new Set(['hostileRegex']),
    read: readTokenizer,
    typedCode: codeOf(TokenizerError),
  },
];

// --- ONNX protobuf, through the pack CLI's graph reader ----------------------------------------

/**
 * The graph is written into a scratch export folder, beside its external weights, and read by
 * loadSourceGraph exactly as `hyperbooth pack` reads it (protobuf decode, external-data checks).
 */
export function onnxTarget(): FuzzTarget & { cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'hyperbooth-fuzz-onnx-'));
  // a CLIP encoder layer (17 KB: small, so the cases are many and quick)
  const inline = new Uint8Array(readFileSync(root('tests/fixtures/autodiff/clip_encoder_layer.opset17.onnx')));
  // the same graph with its weights in an external file, so the mutations reach the
  // external-data entries (locations, offsets, lengths) as well
  const split = encodeModelWithExternalData(decodeModel(inline), { location: 'weights.pb', thresholdBytes: 256 });
  writeFileSync(join(dir, 'weights.pb'), split.data);
  const path = join(dir, 'model.onnx');
  return {
    name: 'onnx',
    seeds: [inline, split.model],
    mutators: byteMutators,
    casesPerMutator: 130,
    read: (b) => {
      writeFileSync(path, b);
      return loadSourceGraph(path, dir);
    },
    typedCode: codeOf(PackInputError),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// --- images with EXIF ------------------------------------------------------------------------

function smallJpegWithExif(orientation: number, littleEndian: boolean): Uint8Array {
  const w = 16;
  const h = 12;
  const data = new Uint8Array(w * h * 4).map((_, i) => (i * 37) & 255);
  const encoded = new Uint8Array(jpeg.encode({ width: w, height: h, data }, 80).data);
  return insertAfterApp0(encoded, exifApp1(orientation, littleEndian));
}

function smallPngWithExif(orientation: number): Uint8Array {
  const rows = Array.from({ length: 12 }, (_, y) => new Uint8Array(16 * 3).map((_, i) => (i * 11 + y * 7) & 255));
  return handMadePng(16, 12, 2, 8, rows, [{ type: 'eXIf', data: tiffWithOrientation(orientation, true) }]);
}

export const imageTargets: FuzzTarget[] = [
  {
    name: 'image (JPEG/PNG decode, EXIF)',
    seeds: [smallJpegWithExif(6, false), smallJpegWithExif(3, true), smallPngWithExif(8), smallPngWithExif(5)],
    mutators: byteMutators,
    casesPerMutator: 200,
    read: (b) => decodeImageBytes(b),
    typedCode: codeOf(ImageDecodeError),
  },
  {
    // libwebp's decoder itself is native code run as WebAssembly; the container and its EXIF
    // chunk are what our code parses, so the WebP target stops there
    name: 'image (WebP container, EXIF)',
    seeds: [webpWithExif(imageFixture('astronaut.webp'), tiffWithOrientation(6, false), 512, 512)],
    mutators: byteMutators,
    casesPerMutator: 60,
    read: (b) => inspectImage(b),
    typedCode: codeOf(ImageDecodeError),
  },
];

// --- checkpoint reader ---------------------------------------------------------------------
// `hyperbooth pack --from model.safetensors` (issue "Stable Diffusion checkpoints as people have
// them"): the header index, the split into UNet / VAE / text encoder, the refusals of other
// model families, the noise schedule buffers and the model configs read from the shapes, all
// before any graph is built. The seed is the committed SD1.5-shaped miniature (F16, 1.3 MB).

const checkpointSeed = new Uint8Array(readFileSync(root('tests/fixtures/checkpoint/sd15-mini-f16.safetensors')));

async function readCheckpoint(bytes: Uint8Array): Promise<unknown> {
  const index = await indexSafetensors(blobByteSource(new Blob([bytes.slice().buffer as ArrayBuffer]), 'model.safetensors'));
  const tensors = splitSingleFile(index);
  const schedule = await readSchedule(tensors.extras, index.source.name);
  const text = textConfig(tensors);
  return { schedule, text, vae: vaeConfig(tensors, 0), unet: unetConfig(tensors, 0, text.maxLength) };
}

/**
 * A valid read of the miniature takes ~30 ms (1,100 tensors to index and sort into parts), and the
 * mutations that rebuild or splice the whole 1.3 MB file take 200–350 ms each: those three are
 * left out and the count kept small, so this target adds seconds, not tens of them, to the suite.
 */
const SLOW_ON_BIG_FILES = new Set(['missingTensor', 'deleteRange', 'duplicateRange']);
const without = (m: Record<string, Mutator<Uint8Array>>) => Object.fromEntries(Object.entries(m).filter(([name]) => !SLOW_ON_BIG_FILES.has(name)));

export const checkpointTarget: FuzzTarget = {
  name: 'checkpoint (single-file SD1.5 .safetensors)',
  seeds: [checkpointSeed],
  mutators: { ...without(safetensorsMutators), ...without(byteMutators) },
  casesPerMutator: 16,
  mustRefuse: SAFETENSORS_RULES,
  read: readCheckpoint,
  typedCode: (e) => (e instanceof CheckpointError ? e.reason : undefined),
};
