// The trained identity embedder as a scorer: images → embeddings through an onnxruntime session
// (batched), compared by cosine. The model file is the one `eval train-embedder` writes.
import type { RgbaImage } from '../../face/image';
import { decodeModel } from '../../onnx';
import type { Runtime } from '../../runtime/types';
import { EMBEDDER_IO, EMBEDDER_METADATA_KEY, type EmbedderConfig } from './model';
import { imageToPixels } from './pixels';

export interface IdentityEmbedder {
  readonly imageSize: number;
  readonly dimensions: number;
  /** one embedding per image, in order */
  embed(images: readonly RgbaImage[]): Promise<Float32Array[]>;
  release(): Promise<void>;
}

const CHUNK = 32;

/** Reads the config the file was written with; throws for a file that is not an identity embedder. */
export function embedderConfigOf(bytes: Uint8Array): EmbedderConfig {
  let meta: string | undefined;
  try {
    meta = (decodeModel(bytes).metadataProps ?? []).find((p) => p.key === EMBEDDER_METADATA_KEY)?.value ?? undefined;
  } catch (e) {
    throw new Error(`not an ONNX model: ${(e as Error).message}`);
  }
  if (!meta) throw new Error(`not an identity embedder (no '${EMBEDDER_METADATA_KEY}' metadata): make one with 'hyperbooth eval train-embedder'`);
  return (JSON.parse(meta) as { config: EmbedderConfig }).config;
}

export async function loadIdentityEmbedder(runtime: Runtime, bytes: Uint8Array): Promise<IdentityEmbedder> {
  const cfg = embedderConfigOf(bytes);
  const session = await runtime.createSession({ name: 'identity embedder', model: bytes });
  const S = cfg.imageSize;
  return {
    imageSize: S,
    dimensions: cfg.embedding,
    async embed(images) {
      const out: Float32Array[] = [];
      for (let start = 0; start < images.length; start += CHUNK) {
        const chunk = images.slice(start, start + CHUNK);
        const pixels = new Float32Array(chunk.length * 3 * S * S);
        chunk.forEach((img, k) => {
          if (img.width !== S || img.height !== S) throw new Error(`the identity embedder takes ${S}×${S} images, got ${img.width}×${img.height}`);
          imageToPixels(img, pixels, k * 3 * S * S);
        });
        const r = await session.run({ [EMBEDDER_IO.input]: { type: 'float32', dims: [chunk.length, 3, S, S], data: pixels } }, [EMBEDDER_IO.output]);
        const e = r[EMBEDDER_IO.output].data as Float32Array;
        for (let k = 0; k < chunk.length; k++) out.push(e.slice(k * cfg.embedding, (k + 1) * cfg.embedding));
      }
      return out;
    },
    release: () => session.release(),
  };
}
