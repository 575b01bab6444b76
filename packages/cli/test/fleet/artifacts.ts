import { createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { formatDigest, sha256 } from '@plumbline/core/hash';
import { sealArtifact } from '@plumbline/core/container';
import type { DigestString } from '@plumbline/core/hash';

/** Seals a small artifact whose one input is `config` and returns its artifact_hash. */
export async function sealTestArtifact(path: string, config: string): Promise<DigestString> {
  const input = new TextEncoder().encode(config);
  const payload = new TextEncoder().encode(`compiled:${config}`);
  const tmp = `${path}.tmp-${process.pid}`;
  const result = await sealArtifact(
    {
      manifest: {
        entries: [
          { path: 'gateway.yaml', size: input.length, digest: formatDigest(sha256(input)) },
        ],
      },
      provenance: {
        commit: 'a'.repeat(40),
        source: 'github.com/example/gateway-config',
        ref: 'refs/heads/main',
        builder: { id: 'test', version: '1.0.0' },
      },
      buildTimestamp: '2026-01-01T00:00:00Z',
      sourceDateEpoch: null,
      payload,
    },
    Writable.toWeb(createWriteStream(tmp)) as WritableStream<Uint8Array>,
  );
  await rename(tmp, path);
  return result.header.artifact_hash;
}
