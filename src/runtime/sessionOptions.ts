// onnxruntime session options for the CPU EP, shared by createNodeRuntime (tests, CLI,
// fine-tune) and the benchmarks, so what is measured is what runs.
//
// enableMemPattern: false — with the pattern on, ORT's second and later runs allocate the
// planned peak as one block from the arena, on top of the chunks the arena already holds from
// the first run. Measured on the `npm run bench -- grad` UNet (2 threads, arena on): peak RSS of
// the gradient step 901 → 715 MB, of the forward 445 → 380 MB, CPU time per run unchanged
// (487 vs 492 ms, 185 vs 186 ms).
export const CPU_SESSION_OPTIONS = {
  graphOptimizationLevel: 'all',
  enableMemPattern: false,
} as const;

// Session config entries for a CPU train session that holds each float32 weight once. By default
// the CPU EP keeps a second layout of every weight a gradient graph reads twice: its NCHWc
// re-layout (or pre-packed GEMM copy) for the forward node, and the original (or another packed
// copy) for the backward node. With both off, every node reads the one stored weight; the cost
// is the forward's NCHWc convolutions and the packing of each MatMul's B on every call
// (measured in README's bench tables: `npm run bench -- grad|sd15 --weights-once`). It needs the
// graph's constant weight chains gated as src/packer/weightsOnce.ts does, or folding makes copies.
export const WEIGHTS_ONCE_CPU_CONFIG: Record<string, string> = {
  'session.disable_prepacking': '1',
  'optimization.disable_specified_optimizers': 'NchwcTransformer',
};
