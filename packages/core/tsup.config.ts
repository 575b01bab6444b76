import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      hash: 'src/hash/index.ts',
      manifest: 'src/manifest/index.ts',
      merkle: 'src/merkle/index.ts',
      header: 'src/header/index.ts',
      container: 'src/container/index.ts',
      verify: 'src/verify/index.ts',
      admin: 'src/admin/index.ts',
      drift: 'src/drift/index.ts',
      audit: 'src/audit/index.ts',
      attest: 'src/attest/index.ts',
      signer: 'src/signer/index.ts',
      testing: 'src/testing/index.ts',
      probe: 'src/probe/index.ts',
      'probe-node': 'src/probe/node/index.ts',
      node: 'src/node/index.ts',
      // Narrow entries for the CLI's manifest and seal commands and its entry (not public): fast
      // start-up.
      'internal-cli-manifest': 'src/internal/cli-manifest.ts',
      'internal-cli-seal': 'src/internal/cli-seal.ts',
      'internal-cli-workers': 'src/internal/cli-workers.ts',
    },
    format: ['esm'],
    target: 'node20',
    platform: 'neutral',
    dts: true,
    sourcemap: true,
    // Everything but the worker below, which the other build writes at the same time.
    clean: ['**/*', '!hash-worker.cjs*'],
    splitting: true,
    treeshake: true,
    external: [/^node:/, 'vitest', 'fast-check'],
  },
  {
    // Started as a worker thread by node/hash-workers.ts, from beside the chunk that starts it: one
    // CommonJS file with its dependencies inlined, which a new thread loads about 20 ms sooner than
    // the same code as ES module chunks (docs/benchmarks.md).
    entry: { 'hash-worker': 'src/node/hash-worker.ts' },
    format: ['cjs'],
    outExtension: () => ({ js: '.cjs' }),
    target: 'node20',
    platform: 'node',
    dts: false,
    sourcemap: true,
    clean: false,
    splitting: false,
    treeshake: true,
    noExternal: ['@noble/hashes'],
    external: [/^node:/],
  },
]);
