import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createHeader, encodeHeader, headerDigest } from '@plumbline/core/header';
import type { ProvenanceHeader } from '@plumbline/core/header';

const sha = (bytes: Uint8Array | string): `sha256:${string}` =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A sealed artifact written by hand per DESIGN.md "Artifact container v1". */
export async function writeSealedArtifact(
  file: string,
  payload = Buffer.from('compiled gateway configuration\n'),
): Promise<{ header: ProvenanceHeader; headerDigest: string; bytes: Buffer }> {
  const files: [string, string, 'spec' | 'config' | 'plugin'][] = [
    ['openapi/petstore.yaml', 'openapi: 3.1.0\n', 'spec'],
    ['config/routes.yaml', 'routes: []\n', 'config'],
    ['plugins/auth.wasm', '\0asm\x01\0\0\0', 'plugin'],
  ];
  const header = createHeader({
    manifest: {
      entries: files.map(([path, content, role]) => ({
        path,
        size: Buffer.byteLength(content),
        digest: sha(content),
        role,
        ...(role === 'plugin' ? { media_type: 'application/wasm' } : {}),
      })),
    },
    payload: { digest: sha(payload), size: payload.length, media_type: 'application/octet-stream' },
    provenance: {
      commit: '0123456789abcdef0123456789abcdef01234567',
      source: 'https://github.com/plumbline-dev/sample-gateway',
      ref: 'refs/heads/main',
      builder: { id: 'https://github.com/plumbline-dev/plumbline/cli', version: '0.1.0' },
    },
    buildTimestamp: '2026-01-02T03:04:05Z',
    sourceDateEpoch: null,
  });
  const headerBytes = encodeHeader(header);
  const prefix = Buffer.alloc(14);
  Buffer.from([0x89, 0x50, 0x4c, 0x42, 0x0d, 0x0a, 0x1a, 0x0a]).copy(prefix);
  prefix.writeUInt16BE(1, 8);
  prefix.writeUInt32BE(headerBytes.length, 10);
  const attachments = Buffer.from([0, 0, 0, 1, 0xa0]);
  const bytes = Buffer.concat([prefix, headerBytes, attachments, payload]);
  await writeFile(file, bytes);
  return { header, headerDigest: headerDigest(headerBytes), bytes };
}
