// Textual inversion (Gal et al. 2022) as a baseline: only the trigger token's row of the text
// encoder's token-embedding table is learned. Each step runs the text encoder with the current
// table, the pack's UNet train graph (zero LoRA slots) for the loss and ∂loss/∂c, and a VJP graph
// of the text encoder with respect to the table (the project's autodiff) for ∂loss/∂table, of
// which Adam takes only the trigger's row; every other row and weight stays the pack's.
import { buildGradientModel, withFixedDims } from '../../autodiff';
import { addNoise } from '../../diffusion/schedule';
import { SeededRandom } from '../../diffusion/random';
import { Adam } from '../../finetune/adam';
import { drawNoise, type NoiseDraw } from '../../finetune/draws';
import { openFineTuneGraphs, type FineTuneGraphs } from '../../finetune/fineTuneGraphs';
import { denoisingTarget, latentDims, type TrainContext } from '../../finetune/trainStep';
import { encodeModel, type ModelProto } from '../../onnx';
import { gradName, IO, TRAIN_IO } from '../../packs/graphIO';
import type { PackContents } from '../../packs/types';
import { zeroLoraFeeds } from '../../pipeline/lora';
import { packTokenizer } from '../../pipeline/textEncoder';
import { timestepTensor } from '../../pipeline/timestep';
import type { Feeds, Runtime, Session } from '../../runtime/types';
import { liftInitializers, paramFeeds } from '../../training/lift';
import { readPackGraph } from '../../training/packGraphs';

/** The initializer the text encoder's input ids index: its token-embedding table. */
export function tokenTableName(model: ModelProto): string {
  const inits = new Set((model.graph?.initializer ?? []).map((t) => t.name));
  const gather = (model.graph?.node ?? []).find((n) => n.opType === 'Gather' && n.input?.[1] === IO.textEncoder.input && inits.has(n.input[0]));
  if (!gather) throw new Error(`the text encoder has no Gather of an initializer by ${IO.textEncoder.input}: no token-embedding table to learn`);
  return gather.input![0];
}

export interface TokenTraining {
  readonly graphs: FineTuneGraphs;
  readonly tableName: string;
  /** the pack's table [vocab, hidden], row-major (a copy) */
  readonly table: Float32Array;
  readonly hidden: number;
  /** the trigger's token id (the trigger must be one token) */
  readonly token: number;
  /** loss of one draw with `table`, and ∂loss/∂table */
  lossAndGrad(table: Float32Array, ctx: TrainContext, draw: NoiseDraw): Promise<{ loss: number; grad: Float32Array }>;
  release(): Promise<void>;
}

export async function openTokenTraining(runtime: Runtime, pack: PackContents): Promise<TokenTraining> {
  const { manifest } = pack;
  const graphs = openFineTuneGraphs(runtime, pack);
  const triggerIds = packTokenizer(pack).tokenize(manifest.trigger);
  if (triggerIds.length !== 1) throw new Error(`textual inversion learns one token, but the trigger '${manifest.trigger}' is ${triggerIds.length} tokens`);
  const model = readPackGraph(pack, manifest.models.textEncoder);
  const tableName = tokenTableName(model);
  const lifted = liftInitializers(withFixedDims(model, { batch: 1 }));
  const [, hidden] = lifted.dims[tableName];
  const sessions: Session[] = [];
  const open = async (name: string, m: ModelProto) => {
    const s = await runtime.createSession({ name, model: encodeModel(m) });
    sessions.push(s);
    return s;
  };
  const forward = await open('text encoder (weights as inputs)', lifted.model);
  const vjp = await open('text encoder VJP w.r.t. the token table', buildGradientModel(lifted.model, { of: [IO.textEncoder.output], wrt: [tableName] }));
  // the pack's UNet train graph, opened here rather than inside the first (timed) fine-tune
  await graphs.train();
  const layers = manifest.lora.layers;
  const textZeros = zeroLoraFeeds(layers, 'text_encoder');
  const unetZeros = zeroLoraFeeds(layers, 'unet');
  const textFeeds = (table: Float32Array, ctx: TrainContext): Feeds => ({
    [IO.textEncoder.input]: ctx.inputIds, ...textZeros, ...paramFeeds({ ...lifted.params, [tableName]: table }, lifted.dims),
  });

  return {
    graphs,
    tableName,
    table: lifted.params[tableName].slice(),
    hidden,
    token: triggerIds[0],
    async lossAndGrad(table, ctx, draw) {
      const c = (await forward.run(textFeeds(table, ctx), [IO.textEncoder.output]))[IO.textEncoder.output];
      const dims = latentDims(manifest);
      const { unetTrain } = await graphs.train();
      const unetOut = await unetTrain.run({
        [IO.unet.sample]: { type: 'float32', dims, data: addNoise(ctx.latent, draw.noise, draw.t, ctx.alphasCumprod) },
        [IO.unet.timestep]: timestepTensor(manifest.unet, draw.t, 1),
        [IO.unet.context]: c,
        [TRAIN_IO.target]: { type: 'float32', dims, data: denoisingTarget(ctx, draw) },
        ...unetZeros,
      }, [TRAIN_IO.loss, TRAIN_IO.contextGrad]);
      const back = await vjp.run({
        ...textFeeds(table, ctx),
        [TRAIN_IO.textSeed]: { type: 'float32', dims: c.dims, data: unetOut[TRAIN_IO.contextGrad].data },
      }, [gradName(tableName)]);
      return { loss: (unetOut[TRAIN_IO.loss].data as Float32Array)[0], grad: back[gradName(tableName)].data as Float32Array };
    },
    async release() {
      await graphs.release();
      await Promise.all(sessions.splice(0).map((s) => s.release()));
    },
  };
}

export interface TokenFineTuneOutcome {
  /** the pack's table with the learned trigger row */
  table: Float32Array;
  losses: number[];
}

/** Adam on the trigger's row only, for `steps` steps on the latent of one image. */
export async function textualInversion(training: TokenTraining, latent: Float32Array, s: { steps: number; learningRate: number; seed: number }): Promise<TokenFineTuneOutcome> {
  const ctx = training.graphs.context(latent);
  const table = training.table.slice();
  const { hidden, token } = training;
  const row = table.subarray(token * hidden, (token + 1) * hidden);
  const adam = new Adam({ row }, { lr: s.learningRate });
  const rng = new SeededRandom(s.seed);
  const losses: number[] = [];
  for (let step = 1; step <= s.steps; step++) {
    const draw = drawNoise(rng, ctx.manifest.schedule.numTrainTimesteps, latent.length);
    const { loss, grad } = await training.lossAndGrad(table, ctx, draw);
    const g = grad.slice(token * hidden, (token + 1) * hidden);
    if (!Number.isFinite(loss) || !g.every(Number.isFinite)) throw new Error(`textual inversion: non-finite loss or gradient at step ${step} (learning rate ${s.learningRate})`);
    adam.step({ row: g });
    losses.push(loss);
  }
  return { table, losses };
}
