// Where the parts of a Stable Diffusion ONNX export live. diffusers' converter and optimum's
// exporter use the same folders (text_encoder/, unet/, vae_encoder/, vae_decoder/, tokenizer/,
// scheduler/, one model.onnx each); they differ in where the weights are (weights.pb,
// model.onnx_data, inline, or one file per tensor), which each graph's external-data entries
// say, so nothing here depends on the layout.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PackInputError } from './errors';

export type GraphPart = 'text_encoder' | 'unet' | 'vae_encoder' | 'vae_decoder';

export const GRAPH_PARTS: Record<GraphPart, string> = {
  text_encoder: 'the CLIP text encoder',
  unet: 'the UNet',
  vae_encoder: 'the VAE encoder',
  vae_decoder: 'the VAE decoder',
};

export interface ExportParts {
  dir: string;
  graphs: Record<GraphPart, string>;
  tokenizer: { vocab: string; merges: string } | { json: string };
  schedulerConfig: string;
  /** optional config.json files optimum writes beside the graphs */
  configs: Partial<Record<GraphPart, string>>;
  /** tokenizer/tokenizer_config.json, when present */
  tokenizerConfig?: string;
}

const isFile = (p: string) => existsSync(p) && statSync(p).isFile();

/** Finds every part or throws one error listing all that are missing. */
export function locateExport(dirArg: string): ExportParts {
  const dir = resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new PackInputError('missing-part', `--from ${dirArg}: no such folder (give the folder of a diffusers or optimum ONNX export)`);
  }
  const missing: string[] = [];
  const need = (rel: string, what: string): string => {
    const p = join(dir, rel);
    if (!isFile(p)) missing.push(`${rel} (${what})`);
    return p;
  };
  const graphs = Object.fromEntries(
    (Object.keys(GRAPH_PARTS) as GraphPart[]).map((part) => [part, need(`${part}/model.onnx`, GRAPH_PARTS[part])]),
  ) as Record<GraphPart, string>;
  let tokenizer: ExportParts['tokenizer'];
  if (isFile(join(dir, 'tokenizer/vocab.json')) || isFile(join(dir, 'tokenizer/merges.txt')) || !isFile(join(dir, 'tokenizer/tokenizer.json'))) {
    tokenizer = { vocab: need('tokenizer/vocab.json', "the CLIP tokenizer's vocabulary"), merges: need('tokenizer/merges.txt', "the CLIP tokenizer's BPE merges") };
  } else {
    tokenizer = { json: join(dir, 'tokenizer/tokenizer.json') };
  }
  const schedulerConfig = need('scheduler/scheduler_config.json', 'the noise schedule');
  if (missing.length) {
    throw new PackInputError('missing-part', `the export at ${dir} lacks ${missing.join(', ')}`);
  }
  const configs: ExportParts['configs'] = {};
  for (const part of Object.keys(GRAPH_PARTS) as GraphPart[]) {
    const p = join(dir, part, 'config.json');
    if (isFile(p)) configs[part] = p;
  }
  const tokenizerConfig = join(dir, 'tokenizer/tokenizer_config.json');
  return { dir, graphs, tokenizer, schedulerConfig, configs, ...(isFile(tokenizerConfig) ? { tokenizerConfig } : {}) };
}

export function readJsonFile(path: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new PackInputError('missing-part', `${path} (${what}) is not valid JSON: ${(e as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new PackInputError('missing-part', `${path} (${what}) is not a JSON object`);
  return value as Record<string, unknown>;
}
