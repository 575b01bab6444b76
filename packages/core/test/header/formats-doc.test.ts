import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import {
  artifactDigestOf,
  EMPTY_ATTACHMENTS,
  encodeAttachments,
  encodePrefix,
} from '@plumbline/core/container';
import { formatDigest, sha256, toHex, utf8 } from '@plumbline/core/hash';
import { createHeader, decodeHeader, encodeHeader, headerDigest } from '@plumbline/core/header';
import { leafInputOf, manifestFromEntries } from '@plumbline/core/manifest';
import { leafHash } from '@plumbline/core/merkle';

// Every test vector in docs/formats.md, recomputed: the document cannot drift from the code.
const doc = readFileSync(
  fileURLToPath(new URL('../../../../docs/formats.md', import.meta.url)),
  'utf8',
);
const flat = doc.replace(/[\s`]+/g, '');

const files: Record<string, string> = { 'a.txt': 'hello\n', 'dir/b.txt': 'world\n' };
const manifest = manifestFromEntries(
  Object.entries(files).map(([path, text]) => ({
    path,
    size: utf8(text).length,
    digest: formatDigest(sha256(utf8(text))),
  })),
);
const payload = utf8('PAYLOAD\n');
const header = createHeader({
  manifest,
  payload: { digest: formatDigest(sha256(payload)), size: payload.length },
  provenance: { builder: { id: 'example', version: '1' } },
  sourceDateEpoch: '0',
});
const headerBytes = encodeHeader(header);

describe('docs/formats.md test vectors', () => {
  test('manifest: digests, leaf inputs, leaf hashes and root', () => {
    for (const entry of manifest.entries) {
      expect(doc).toContain(entry.digest);
      const leafInput = toHex(leafInputOf(entry));
      expect(flat).toContain(leafInput);
      expect(doc).toContain(toHex(leafHash(leafInputOf(entry))));
    }
    expect(doc).toContain(manifest.root);
    expect(doc).toContain(formatDigest(sha256(new Uint8Array(0))));
  });

  test('header: bytes, length and digest', () => {
    expect(flat).toContain(toHex(headerBytes));
    expect(doc).toContain(`Encoded, ${headerBytes.length} bytes`);
    expect(doc).toContain(headerDigest(headerBytes));
    expect(decodeHeader(headerBytes)).toEqual(header);
  });

  test('container: bytes, artifact digest, attachments', () => {
    const container = new Uint8Array([...encodePrefix(headerBytes, EMPTY_ATTACHMENTS), ...payload]);
    expect(doc).toContain(`${container.length} bytes:`);
    expect(doc).toContain(`00000${headerBytes.length.toString(16)}`);
    const artifactDigest = artifactDigestOf(headerBytes, payload);
    expect(artifactDigest).toBe(formatDigest(sha256(container)));
    expect(doc).toContain(artifactDigest);
    const attachments = encodeAttachments({ 'dev.plumbline.sigstore.bundle': utf8('{}') });
    expect(flat).toContain(toHex(attachments));
    expect(doc).toContain(`(_A_ = ${attachments.length})`);
    const signed = new Uint8Array([...encodePrefix(headerBytes, attachments), ...payload]);
    expect(doc).toContain(formatDigest(sha256(signed)));
  });
});
