import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import { createHeader, encodeHeader, headerDigest } from '@plumbline/core/header';
import { ociLabels, verifyImage } from '@plumbline/oci';
import { makeTar, sampleHeader, writeLayout } from './fixtures.js';

const header = sampleHeader();
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'plb-oci-fuzz-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Runs verifyImage and returns the error code, or 'ok'/'problems'; any non-coded error fails. */
async function outcome(promise: Promise<{ ok: boolean }>): Promise<string> {
  try {
    return (await promise).ok ? 'ok' : 'problems';
  } catch (error) {
    if (!PlumblineError.is(error)) throw error;
    return error.code;
  }
}

describe('verifyImage never fails uncoded (fast-check)', () => {
  it('on arbitrary index.json contents', async () => {
    const layout = join(work, 'index');
    await writeLayout(layout, { layers: [], labels: ociLabels(header) });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.json(),
          fc.string(),
          fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')),
        ),
        async (text) => {
          await writeFile(join(layout, 'index.json'), text);
          const result = await outcome(verifyImage({ layout, artifact: { header } }));
          expect(result).toMatch(/^(PLB_OCI_[A-Z_]+|ok|problems)$/);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('on arbitrary layer bytes and arbitrary tar entry paths', async () => {
    const layout = join(work, 'layer');
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2048 }),
        fc.array(fc.string({ minLength: 1, maxLength: 24 }), { maxLength: 4 }),
        async (bytes, paths) => {
          await writeLayout(layout, {
            layers: [{ tar: Buffer.from(bytes), raw: Buffer.from(bytes) }],
            labels: ociLabels(header),
          });
          const random = await outcome(
            verifyImage({
              layout,
              artifact: { header, file: { digest: `sha256:${'0'.repeat(64)}`, size: 0 } },
              pathInImage: 'x',
            }),
          );
          expect(random).toMatch(/^PLB_OCI_[A-Z_]+$/);
          await writeLayout(layout, {
            layers: [{ tar: makeTar(paths.map((path) => ({ path, data: 'x' }))) }],
            labels: ociLabels(header),
          });
          const parsed = await outcome(
            verifyImage({
              layout,
              artifact: { header, file: { digest: `sha256:${'0'.repeat(64)}`, size: 0 } },
              pathInImage: 'x',
            }),
          );
          expect(parsed).toMatch(/^(PLB_OCI_PATH_TRAVERSAL|PLB_OCI_LAYER_INVALID|problems)$/);
          const escapes = paths.some(
            (p) => p.startsWith('/') || p.includes('\\') || p.split('/').includes('..'),
          );
          if (escapes) expect(parsed).not.toBe('problems');
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('verifyImage with an artifact path', () => {
  it('reads the header from a sealed artifact and compares the file', async () => {
    const payload = Buffer.from('compiled');
    const sealedHeader = createHeader({
      manifest: { entries: [] },
      payload: {
        digest: `sha256:${createHash('sha256').update(payload).digest('hex')}`,
        size: payload.length,
      },
      provenance: { builder: { id: 'https://example.com/builder', version: '1' } },
      buildTimestamp: '2026-01-02T03:04:05Z',
      sourceDateEpoch: null,
    });
    const headerBytes = encodeHeader(sealedHeader);
    const prefix = Buffer.alloc(14);
    Buffer.from([0x89, 0x50, 0x4c, 0x42, 0x0d, 0x0a, 0x1a, 0x0a]).copy(prefix);
    prefix.writeUInt16BE(1, 8);
    prefix.writeUInt32BE(headerBytes.length, 10);
    const bytes = Buffer.concat([prefix, headerBytes, Buffer.from([0, 0, 0, 1, 0xa0]), payload]);
    const file = join(work, 'gateway.plb');
    await writeFile(file, bytes);
    const layout = join(work, 'sealed');
    await writeLayout(layout, {
      layers: [{ tar: makeTar([{ path: 'gateway.plb', data: bytes }]) }],
      labels: ociLabels(sealedHeader, { headerDigest: headerDigest(headerBytes) }),
    });
    const result = await verifyImage({ layout, artifact: file, pathInImage: '/gateway.plb' });
    expect(result.problems).toEqual([]);
    expect(result.checks.find((c) => c.key === 'dev.plumbline.header.digest')?.status).toBe(
      'match',
    );
    const legacy = join(work, 'legacy.bin');
    await writeFile(legacy, 'no magic here');
    expect(await outcome(verifyImage({ layout, artifact: legacy }))).toBe('PLB_LEGACY_ARTIFACT');
  });
});
