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
