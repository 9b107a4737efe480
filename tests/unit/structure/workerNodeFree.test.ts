// The model worker runs in a browser: nothing it imports, however deep, may import a `node:`
// module (Vite would stub it and the worker would die on first use). The checkpoint import made
// the pack writer run there, so the writer's Node-only parts must stay out of its graph.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

describe('the worker imports no Node module', () => {
  it('bundles workers/hyperbooth.worker.ts for the browser with no node: import, and names who would bring one', async () => {
    const esbuild = await import('esbuild');
    const { metafile } = await esbuild.build({
      entryPoints: [`${ROOT}/workers/hyperbooth.worker.ts`], bundle: true, write: false, platform: 'browser', format: 'esm', metafile: true,
      external: ['node:*', 'onnxruntime-web', 'onnxruntime-common', 'comlink'], loader: { '.gz': 'file', '.wasm': 'file', '.onnx': 'file', '.json': 'json' },
      outdir: `${ROOT}/node_modules/.cache/worker-node-free`, logLevel: 'silent',
    });
    const inputs = Object.entries(metafile.inputs);
    // the scan saw the checkpoint import and the pack writer (so an empty bundle cannot pass)
    expect(inputs.map(([f]) => f)).toEqual(expect.arrayContaining(['workers/checkpointImport.ts', 'src/packer/packParts.ts', 'src/checkpoint/convertCheckpoint.ts']));
    const nodeImports = inputs.flatMap(([file, v]) => v.imports.filter((i) => i.path.startsWith('node:')).map((i) => `${file} → ${i.path}`));
    expect(nodeImports).toEqual([]);
  });
});
