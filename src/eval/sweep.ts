// The learning-rate sweep behind each method's default (item 3 of issue 16): on identities of the
// *validation* split (never held-out people), each method personalizes from photo 0 at each
// candidate learning rate, the pack generates the person in a few styles, and the proxy score is
// the identity embedder's cosine between those images and the selfie. A learning rate whose
// fine-tune blows up scores nothing and is reported as such.
import { caption, identitySeed, photoSeed, renderPhoto, sampleIdentity, type Style } from '../dataset';
import type { RgbaImage } from '../face/image';
import { createPersonalizer } from '../finetune/personalize';
import type { PackContents } from '../packs/types';
import { createPipeline, type GenerateOptions } from '../pipeline/pipeline';
import type { Runtime } from '../runtime/types';
import type { IdentityEmbedder } from './embedder/embedder';
import { cosine } from './features';
import { MethodResources, selectMethods, type MethodContext, type MethodSettings } from './methods';

export interface SweepOptions {
  methods: readonly string[];
  /** candidate learning rates per method */
  rates: Readonly<Record<string, readonly number[]>>;
  /** validation identities 0 … ids−1 of world `seed` */
  ids: number;
  seed: number;
  styles: readonly Style[];
  stepsImage: number;
  settings: Omit<MethodSettings, 'learningRate'>;
}

export interface SweepRow {
  method: string;
  learningRate: number;
  /** mean identity cosine over ids × styles; null when a fine-tune failed (e.g. diverged) */
  identity: number | null;
  /** mean personalize seconds per identity */
  seconds: number;
  error?: string;
}

const now = (): number => performance.now();

export async function sweepLearningRates(runtime: Runtime, pack: PackContents, embedder: IdentityEmbedder, o: SweepOptions, onRow?: (r: SweepRow) => void): Promise<SweepRow[]> {
  const { manifest } = pack;
  const size = manifest.image.width;
  const pipeline = await createPipeline(runtime, pack);
  const personalizer = await createPersonalizer(runtime, pack);
  const rows: SweepRow[] = [];
  const resources = new MethodResources();
  try {
    const people = Array.from({ length: o.ids }, (_, i) => {
      const idSeed = identitySeed('val', i, o.seed);
      const identity = sampleIdentity(idSeed);
      return { selfie: renderPhoto(identity, photoSeed(idSeed, 0), { size }), prompts: o.styles.map((s) => caption(identity, s, { subject: `a ${manifest.trigger} face` })) };
    });
    const selfieEmbeddings = await embedder.embed(people.map((p) => p.selfie));
    for (const method of selectMethods(o.methods)) {
      for (const learningRate of o.rates[method.name] ?? []) {
        const ctx: MethodContext = { runtime, pack, personalizer, pipeline, settings: { ...o.settings, learningRate }, resources };
        await method.prepare?.(ctx);
        let sum = 0, count = 0, seconds = 0, error: string | undefined;
        for (const [i, person] of people.entries()) {
          const t0 = now();
          let personalized;
          try {
            personalized = await method.personalize(ctx, person.selfie, i);
          } catch (e) {
            error = (e as Error).message;
            break;
          }
          seconds += (now() - t0) / 1000;
          try {
            const opts: GenerateOptions = { prompts: person.prompts, seed: 7000 + i, steps: o.stepsImage, guidance: 7.5, scheduler: 'ddim', ...(personalized.lora ? { lora: personalized.lora } : {}) };
            const images = personalized.generate ? await personalized.generate(opts) : await pipeline.generate(opts);
            const made: RgbaImage[] = images.map((g) => ({ width: g.width, height: g.height, data: g.rgba }));
            for (const e of await embedder.embed(made)) { sum += cosine(e, selfieEmbeddings[i]); count++; }
          } finally {
            await personalized.release?.();
          }
        }
        const row: SweepRow = { method: method.name, learningRate, identity: error ? null : sum / count, seconds: seconds / o.ids, ...(error ? { error } : {}) };
        rows.push(row);
        onRow?.(row);
      }
    }
  } finally {
    await resources.release();
    await pipeline.release();
    await personalizer.release();
  }
  return rows;
}

/** Per method, the learning rate with the highest proxy score. */
export function bestRates(rows: readonly SweepRow[]): Record<string, number> {
  const best: Record<string, SweepRow> = {};
  for (const r of rows) if (r.identity !== null && (!best[r.method] || r.identity > best[r.method].identity!)) best[r.method] = r;
  return Object.fromEntries(Object.entries(best).map(([m, r]) => [m, r.learningRate]));
}
