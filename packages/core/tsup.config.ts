import { defineConfig, type Options } from 'tsup';

/**
 * What the three builds below share. The package's build script empties dist/ first: the builds
 * run at the same time, and tsup's own cleaning (declaration files included) would remove the
 * others' output.
 */
const common: Options = { target: 'node20', sourcemap: true, clean: false, treeshake: true };

/** A self-contained file: its modules and `@noble/hashes` inlined, Node's built-ins imported. */
const selfContained: Options = {
  ...common,
  splitting: false,
  noExternal: ['@noble/hashes'],
  external: [/^node:/],
};

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
    },
    ...common,
    format: ['esm'],
    platform: 'neutral',
    dts: true,
    splitting: true,
    external: [/^node:/, 'vitest', 'fast-check'],
  },
  {
    // Narrow entries for the CLI's manifest and seal commands (not public), each one self-contained
    // file: a process that builds a manifest loads one module from this package instead of 15
    // chunks and 4 modules of @noble/hashes (docs/benchmarks.md). Nothing in them is shared with
    // other entries at run time.
    entry: {
      'internal-cli-manifest': 'src/internal/cli-manifest.ts',
      'internal-cli-seal': 'src/internal/cli-seal.ts',
    },
    ...selfContained,
    format: ['esm'],
    platform: 'neutral',
    dts: true,
  },
  {
    // Started as a worker thread by node/hash-workers.ts, from beside the chunk that starts it: one
    // CommonJS file with its dependencies inlined, which a new thread loads about 20 ms sooner than
    // the same code as ES module chunks (docs/benchmarks.md).
    entry: { 'hash-worker': 'src/node/hash-worker.ts' },
    ...selfContained,
    format: ['cjs'],
    outExtension: () => ({ js: '.cjs' }),
    platform: 'node',
    dts: false,
  },
]);
