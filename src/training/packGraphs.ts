// The graphs of a loaded pack as in-memory models with their weights inline, and the reverse:
// a new pack whose graphs carry trained weights, with the train graphs rebuilt from the new
// forward graphs so both keep reading one shared weights.bin (src/finetune/trainGraphs.ts).
import { posix } from 'node:path';
import { decodeModel, encodeModel, inlineExternalData, memoryExternalReader, type ModelProto } from '../onnx';
import type { PackManifest, PackModel } from '../packs/manifest';
import type { PackContents } from '../packs/types';
import { finishManifest, type PackBuild } from '../packs/writePack';
import { buildTextEncoderGradModel, buildUnetTrainModel, shareExternalData } from '../finetune/trainGraphs';

export type GraphKey = 'textEncoder' | 'unet' | 'vaeEncoder' | 'vaeDecoder' | 'hypernet';
export const GRAPH_KEYS: readonly GraphKey[] = ['textEncoder', 'unet', 'vaeEncoder', 'vaeDecoder', 'hypernet'];

export function packModelOf(manifest: PackManifest, key: GraphKey): PackModel {
  if (key === 'hypernet') {
    if (!manifest.hypernet) throw new Error(`pack "${manifest.id}" has no hypernetwork`);
    return manifest.hypernet.model;
  }
  return manifest.models[key];
}

/** The graph with every external initializer read into its own bytes. */
export function readPackGraph(pack: PackContents, model: PackModel): ModelProto {
  const dir = posix.dirname(model.file);
  const external: Record<string, Uint8Array> = {};
  for (const path of model.externalData ?? []) external[posix.relative(dir, path)] = pack.files(path);
  return inlineExternalData(decodeModel(pack.files(model.file)), memoryExternalReader(external));
}

export function setInitializers(model: ModelProto, values: Record<string, Float32Array>, label: string): void {
  const byName = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
  for (const [name, v] of Object.entries(values)) {
    const t = byName.get(name);
    if (!t) throw new Error(`${label}: no initializer ${name}`);
    const count = (t.dims ?? []).reduce((a: number, b) => a * Number(b), 1);
    if (count !== v.length) throw new Error(`${label}: ${name} has ${count} values, the trained one ${v.length}`);
    t.rawData = new Uint8Array(v.slice().buffer);
    t.floatData = [];
  }
}

const SHARED_WEIGHT_BYTES = 1024;

/**
 * A copy of `pack` whose graphs carry `trained[graph][initializer]`; graphs not named keep their
 * bytes. The UNet and text-encoder train graphs are rebuilt from the new forward graphs and
 * share their weights files again; the manifest's file list and hashes are recomputed.
 */
export function repackWithWeights(
  pack: PackContents,
  trained: Partial<Record<GraphKey, Record<string, Float32Array>>>,
  info: { name?: string; description?: string; latentScale?: number; notice?: string } = {},
): PackBuild {
  const { manifest } = pack;
  const files: Record<string, Uint8Array> = Object.fromEntries(manifest.files.map((f) => [f.path, pack.files(f.path)]));
  for (const key of GRAPH_KEYS) {
    const values = trained[key];
    if (!values) continue;
    const pm = packModelOf(manifest, key);
    const model = readPackGraph(pack, pm);
    setInitializers(model, values, `${key} (${pm.file})`);
    const train = key === 'unet' ? manifest.train?.unet : key === 'textEncoder' ? manifest.train?.textEncoder : undefined;
    if (!train) {
      if (pm.externalData?.length) throw new Error(`${pm.file}: re-emitting a graph with external weights and no train graph is not supported`);
      files[pm.file] = encodeModel(model);
      continue;
    }
    const weights = pm.externalData?.[0];
    if (!weights || pm.externalData!.length !== 1 || train.externalData?.[0] !== weights) {
      throw new Error(`${pm.file}: expected the forward and train graphs to share one weights file`);
    }
    const trainModel = key === 'unet' ? buildUnetTrainModel(model) : buildTextEncoderGradModel(model);
    const shared = shareExternalData([model, trainModel], { location: posix.relative(posix.dirname(pm.file), weights), thresholdBytes: SHARED_WEIGHT_BYTES });
    [files[pm.file], files[train.file]] = shared.models;
    files[weights] = shared.data;
  }
  const { files: _old, ...draft } = manifest;
  return {
    files,
    manifest: finishManifest({
      ...draft,
      ...(info.name ? { name: info.name } : {}),
      ...(info.description ? { description: info.description } : {}),
      ...(info.notice ? { notice: info.notice } : {}),
      ...(info.latentScale ? { latent: { ...draft.latent, scale: info.latentScale } } : {}),
    }, files),
  };
}
