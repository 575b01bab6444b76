import type { ProvenanceHeader } from '@plumbline/core/header';
import { buildProvenanceStatement } from '@plumbline/core/attest';

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
  },
  inputs: [
    { path: 'gateway.yaml', size: 120, digest: `sha256:${'11'.repeat(32)}`, role: 'config' },
  ],
  payload: {
    digest: `sha256:${'55'.repeat(32)}`,
    size: 2048,
    media_type: 'application/octet-stream',
  },
  extensions: {},
};

export const expected = {
  artifactDigest: `sha256:${'a7'.repeat(32)}`,
  artifactHash: header.artifact_hash,
  headerDigest: `sha256:${'c9'.repeat(32)}`,
} as const;

export const statement = buildProvenanceStatement({
  header,
  artifactDigest: expected.artifactDigest,
  headerDigest: expected.headerDigest,
  subjectName: 'gateway.plb',
});

export const ISSUER = 'https://issuer.example.com';
export const IDENTITY =
  'https://github.com/example/gateway-config/.github/workflows/build.yml@refs/heads/main';
