import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // README's example imports the package by name; tests run it against the sources.
    alias: { 'mediasoup-recorder': new URL('../src/index.ts', import.meta.url).pathname },
  },
  test: {
    root: new URL('..', import.meta.url).pathname,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests each run a mediasoup worker and replay in real time; two cores here.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'unit+integration', include: ['test/**/*.test.ts'], exclude: ['test/e2e/**'], sequence: { groupOrder: 0 } },
      },
      {
        // Chromium, mediasoup and the recorder share two cores: the browser tests run last, alone.
        extends: true,
        test: { name: 'browser', include: ['test/e2e/**/*.test.ts'], fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
