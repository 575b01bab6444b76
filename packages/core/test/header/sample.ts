import { formatDigest, sha256, utf8 } from '@plumbline/core/hash';
import { createHeader, type ProvenanceHeader } from '@plumbline/core/header';
import { manifestFromEntries, type ManifestEntry } from '@plumbline/core/manifest';

/** The sample inputs: real bytes, so their digests can be recomputed. */
export const SAMPLE_FILES: Readonly<Record<string, string>> = {
  'specs/users.yaml': 'openapi: 3.1.0\ninfo: { title: users, version: 1.0.0 }\npaths: {}\n',
  'config/gateway.yaml': 'listen: 0.0.0.0:8080\nroutes:\n  - path: /users\n    upstream: users\n',
  'plugins/auth.wasm': '\0asm\u0001\0\0\0',
};

/** The sample payload bytes (a compiled gateway configuration). */
export const SAMPLE_PAYLOAD = utf8(
  '{"compiled":true,"routes":[{"path":"/users","upstream":"users"}]}\n',
);

const ROLES: Record<string, ManifestEntry['role']> = {
  specs: 'spec',
  config: 'config',
  plugins: 'plugin',
};

/** Manifest entries of the sample inputs. */
export function sampleEntries(): ManifestEntry[] {
  return Object.entries(SAMPLE_FILES).map(([path, text]) => {
    const bytes = utf8(text);
    return {
      path,
      size: bytes.length,
      digest: formatDigest(sha256(bytes)),
      role: ROLES[path.split('/')[0]!] ?? 'other',
      ...(path.endsWith('.wasm') ? { media_type: 'application/wasm' } : {}),
    };
  });
}

/** The sample header (fixed SOURCE_DATE_EPOCH, so it never changes). */
export function sampleHeader(): ProvenanceHeader {
  return createHeader({
    manifest: manifestFromEntries(sampleEntries()),
    payload: {
      digest: formatDigest(sha256(SAMPLE_PAYLOAD)),
      size: SAMPLE_PAYLOAD.length,
      media_type: 'application/vnd.example.gateway.config+json',
    },
    provenance: {
      commit: '3f786850e387550fdab836ed7e6dc881de23001b',
      source: 'https://github.com/acme/gateway-config',
      ref: 'refs/heads/main',
      builder: { id: 'https://github.com/acme/gateway-config/actions', version: '1.4.2' },
      build_url: 'https://github.com/acme/gateway-config/actions/runs/42',
    },
    extensions: { 'com.example.gateway.routes': 1, 'com.example.gateway.tier': 'edge' },
    sourceDateEpoch: '1700000000',
  });
}
