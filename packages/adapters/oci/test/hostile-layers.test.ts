import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import { ociLabels, verifyImage, type VerifyImageOptions } from '../src/index.js';
import { HEADER_DIGEST, makeTar, sampleHeader, writeLayout } from './fixtures.js';

const header = sampleHeader();
let work: string;
let artifactFile: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'plb-oci-hostile-'));
  artifactFile = join(work, 'gateway.plb');
  await writeFile(artifactFile, 'PLB artifact bytes\n');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function opts(layout: string, extra: Partial<VerifyImageOptions> = {}): VerifyImageOptions {
  return {
    layout,
    artifact: { header, headerDigest: HEADER_DIGEST, file: artifactFile },
    pathInImage: 'etc/gateway.plb',
    ...extra,
  };
}

async function failure(promise: Promise<unknown>): Promise<PlumblineError> {
  try {
    await promise;
  } catch (error) {
    expect(PlumblineError.is(error), String((error as Error).stack)).toBe(true);
    return error as PlumblineError;
  }
  throw new Error('no error');
}

describe('verify-image refuses tar entry types a container runtime refuses', () => {
  it.each([
    ['an unknown type', 'Z'],
    ['a sparse file', 'S'],
    ['a tape volume header', 'V'],
    ['a GNU dump directory', 'D'],
    ['a multi-volume continuation', 'M'],
  ])('%s in a layer is PLB_OCI_TAR_ENTRY_UNSUPPORTED', async (_, type) => {
    const layout = join(work, `type-${type}`);
    await writeLayout(layout, {
      layers: [
        {
          tar: makeTar([
            { path: 'etc/odd', type, data: 'x' },
            { path: 'etc/ok', data: 'y' },
          ]),
        },
      ],
      labels: ociLabels(header),
    });
    const error = await failure(verifyImage(opts(layout)));
    expect(error.code).toBe('PLB_OCI_TAR_ENTRY_UNSUPPORTED');
    expect(error.message).toContain('etc/odd');
  });

  it('keeps the types a runtime applies (file, links, directory, devices, fifo)', async () => {
    const layout = join(work, 'types-ok');
    await writeLayout(layout, {
      layers: [
        {
          tar: makeTar([
            { path: 'etc', type: '5' },
            { path: 'etc/a', data: 'x' },
            { path: 'etc/b', type: '1', linkpath: 'etc/a' },
            { path: 'etc/c', type: '2', linkpath: 'a' },
            { path: 'etc/d', type: '3' },
            { path: 'etc/e', type: '4' },
            { path: 'etc/f', type: '6' },
            { path: 'etc/g', type: '7', data: 'z' },
          ]),
        },
      ],
      labels: ociLabels(header),
    });
    const result = await verifyImage(opts(layout));
    expect(result.file?.status).toBe('missing');
  });
});

describe('decompression budget', () => {
  // 8 MiB of zeros gzip to about 8 KiB: a ratio near 1000.
  const bomb = makeTar([{ path: 'etc/zeros', data: new Uint8Array(8 * 1024 * 1024) }]);

  it('refuses a layer that expands past maxDecompressionRatio', async () => {
    const layout = join(work, 'ratio');
    await writeLayout(layout, { layers: [{ tar: bomb }], labels: ociLabels(header) });
    const error = await failure(
      verifyImage(opts(layout, { limits: { maxDecompressionRatio: 100 } })),
    );
    expect(error.code).toBe('PLB_OCI_LIMIT');
    expect(error.message).toContain('100');
    expect(error.details).toMatchObject({ limit: 100 });
  });

  it('refuses an image whose layers together decompress past maxUncompressedBytes', async () => {
    const layout = join(work, 'total');
    await writeLayout(layout, {
      layers: [{ tar: bomb }, { tar: bomb }],
      labels: ociLabels(header),
    });
    const error = await failure(
      verifyImage(opts(layout, { limits: { maxUncompressedBytes: 12 * 1024 * 1024 } })),
    );
    expect(error.code).toBe('PLB_OCI_LIMIT');
    expect(error.details).toMatchObject({ limit: 12 * 1024 * 1024 });
  });

  it('accepts the same image within the budget', async () => {
    const layout = join(work, 'within');
    await writeLayout(layout, { layers: [{ tar: bomb }], labels: ociLabels(header) });
    const result = await verifyImage(
      opts(layout, { limits: { maxDecompressionRatio: 5000, maxUncompressedBytes: 16 << 20 } }),
    );
    expect(result.file?.status).toBe('missing');
  });
});
