import { defineConfig } from 'vitest/config';

// Browser tests: real Debian chromium driven by playwright-core against the Vite server.
// One file at a time: SwiftShader WebGPU uses every core it can get.
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.e2e.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
