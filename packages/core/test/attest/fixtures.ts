import type { ProvenanceHeader } from '../../src/header/types.js';

/** A fixed header for golden statements. */
export const header: ProvenanceHeader = {
  format: 'plumbline.header/v1',
  artifact_hash: `sha256:${'4f'.repeat(32)}`,
  hash_alg: 'sha256',
  build_timestamp: '2026-01-02T03:04:05Z',
  provenance: {
    commit: '0123456789abcdef0123456789abcdef01234567',
    source: 'https://github.com/example/gateway-config',
    ref: 'refs/heads/main',
    builder: { id: 'https://plumbline.dev/builders/cli', version: '0.1.0' },
    build_url: 'https://ci.example.com/runs/42',
  },
  inputs: [
    {
      path: 'gateway.yaml',
      size: 120,
      digest: `sha256:${'11'.repeat(32)}`,
      role: 'config',
      media_type: 'application/yaml',
    },
    {
      path: 'plugins/auth.wasm',
      size: 4096,
      digest: `sha256:${'22'.repeat(32)}`,
      role: 'plugin',
      media_type: 'application/wasm',
    },
    { path: 'specs/petstore.json', size: 900, digest: `sha256:${'33'.repeat(32)}` },
  ],
  payload: {
    digest: `sha256:${'55'.repeat(32)}`,
    size: 2048,
    media_type: 'application/vnd.example.gateway',
  },
  extensions: { 'dev.example.gateway': { tier: 'gold' } },
};

export const artifactDigest = `sha256:${'a7'.repeat(32)}` as const;

export const headerDigest = `sha256:${'c9'.repeat(32)}` as const;
