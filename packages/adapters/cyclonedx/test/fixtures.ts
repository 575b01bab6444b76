import type { ProvenanceHeader } from '@plumbline/core/header';

/** A header built as a plain object (what `createHeader` returns). */
export function sampleHeader(overrides: Partial<ProvenanceHeader> = {}): ProvenanceHeader {
  return {
    format: 'plumbline.header/v1',
    artifact_hash: `sha256:${'ab'.repeat(32)}`,
    hash_alg: 'sha256',
    build_timestamp: '2026-01-02T03:04:05Z',
    provenance: {
      commit: '0123456789abcdef0123456789abcdef01234567',
      source: 'https://github.com/plumbline-dev/sample-gateway',
      ref: 'refs/tags/v1.2.3',
      builder: { id: 'https://github.com/plumbline-dev/plumbline/cli', version: '0.1.0' },
      build_url: 'https://ci.example.com/runs/42',
    },
    inputs: [
      {
        path: 'config/routes.yaml',
        size: 11,
        digest: `sha256:${'04'.repeat(32)}`,
        role: 'config',
        media_type: 'application/yaml',
      },
      {
        path: 'openapi/petstore.yaml',
        size: 10,
        digest: `sha256:${'01'.repeat(32)}`,
        role: 'spec',
      },
      { path: 'plugins/auth.wasm', size: 20, digest: `sha256:${'02'.repeat(32)}`, role: 'plugin' },
      { path: 'README.txt', size: 5, digest: `sha256:${'05'.repeat(32)}` },
    ],
    payload: {
      digest: `sha256:${'03'.repeat(32)}`,
      size: 30,
      media_type: 'application/vnd.example.gateway',
    },
    extensions: {},
    ...overrides,
  };
}

export const HEADER_DIGEST = `sha256:${'cd'.repeat(32)}`;
export const ARTIFACT = { name: 'gateway.plb', digest: `sha256:${'ef'.repeat(32)}`, size: 1234 };

/** An image SBOM as syft would write it (CycloneDX 1.6 JSON). */
export function imageBom(specVersion = '1.6'): Record<string, unknown> {
  return {
    $schema: `http://cyclonedx.org/schema/bom-${specVersion}.schema.json`,
    bomFormat: 'CycloneDX',
    specVersion,
    serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
    version: 1,
    metadata: {
      timestamp: '2026-01-03T00:00:00Z',
      tools: {
        components: [{ type: 'application', author: 'anchore', name: 'syft', version: '1.18.0' }],
      },
      component: {
        'bom-ref': 'image-ref',
        type: 'container',
        name: 'registry.example.com/gateway',
        version: 'sha256:' + '77'.repeat(32),
      },
    },
    components: [
      {
        'bom-ref': 'pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64',
        type: 'library',
        name: 'musl',
        version: '1.2.5-r0',
        purl: 'pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64',
      },
      {
        'bom-ref': 'file-petstore',
        type: 'file',
        name: 'openapi/petstore.yaml',
        hashes: [{ alg: 'SHA-256', content: '01'.repeat(32) }],
      },
    ],
    dependencies: [{ ref: 'image-ref', dependsOn: ['pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64'] }],
  };
}
