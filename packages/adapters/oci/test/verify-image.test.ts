import { cp, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import {
  ociLabels,
  supportsZstdLayers,
  verifyImage,
  type VerifyImageOptions,
} from '@plumbline/oci';
import {
  blobFile,
  HEADER_DIGEST,
  imageParts,
  makeTar,
  sampleHeader,
  sha256,
  umociImage,
  writeLayout,
} from './fixtures.js';

const header = sampleHeader();
const ARTIFACT = Buffer.from('PLB artifact bytes\n'.repeat(50));
let work: string;
let artifactFile: string;
let good: string;

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(PlumblineError.is(error), String((error as Error).stack)).toBe(true);
    return (error as PlumblineError).code;
  }
  return 'no error';
}

function opts(layout: string, extra: Partial<VerifyImageOptions> = {}): VerifyImageOptions {
  return {
    layout,
    artifact: { header, headerDigest: HEADER_DIGEST, file: artifactFile },
    ...extra,
  };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'plb-oci-'));
  artifactFile = join(work, 'gateway.plb');
  await writeFile(artifactFile, ARTIFACT);
  good = await umociImage(join(work, 'good'), {
    layers: [
      { write: { 'etc/gateway/gateway.plb': 'an older artifact', 'etc/os-release': 'ID=test\n' } },
      { write: { 'etc/gateway/gateway.plb': ARTIFACT } },
    ],
    labels: ociLabels(header, { headerDigest: HEADER_DIGEST }),
  });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('verifyImage on umoci-built layouts', () => {
  it('accepts an image with the right labels and a byte-identical artifact (upper layer wins)', async () => {
    const result = await verifyImage(
      opts(good, { ref: 'v1', pathInImage: '/etc/gateway/gateway.plb' }),
    );
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.refName).toBe('v1');
    expect(result.layers).toHaveLength(2);
    expect(result.file).toMatchObject({
      status: 'match',
      path: '/etc/gateway/gateway.plb',
      layer: result.layers[1]!.digest,
    });
    expect(result.file!.actual).toEqual({ digest: sha256(ARTIFACT), size: ARTIFACT.length });
    expect(result.checks.map((c) => [c.key, c.status])).toEqual([
      ['dev.plumbline.artifact.hash', 'match'],
      ['dev.plumbline.builder.id', 'match'],
      ['dev.plumbline.format', 'match'],
      ['dev.plumbline.header.digest', 'match'],
      ['org.opencontainers.image.revision', 'match'],
      ['org.opencontainers.image.source', 'match'],
    ]);
    expect(result.labels['dev.plumbline.artifact.hash']).toBe(header.artifact_hash);
  });

  it('reports a file that differs from the artifact', async () => {
    const result = await verifyImage(
      opts(good, {
        pathInImage: 'etc/gateway/gateway.plb',
        artifact: { header, file: { digest: sha256(Buffer.from('x')), size: 1 } },
      }),
    );
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => p.code)).toEqual(['PLB_OCI_FILE_MISMATCH']);
    expect(result.file?.status).toBe('mismatch');
  });

  it('reports a missing file and a directory at the path', async () => {
    const missing = await verifyImage(opts(good, { pathInImage: '/etc/gateway/other.plb' }));
    expect(missing.problems.map((p) => p.code)).toEqual(['PLB_OCI_FILE_MISSING']);
    const dir = await verifyImage(opts(good, { pathInImage: '/etc/gateway' }));
    expect(dir.problems.map((p) => p.code)).toEqual(['PLB_OCI_FILE_NOT_REGULAR']);
  });

  it('reports wrong and missing labels', async () => {
    const wrong = await umociImage(join(work, 'wrong'), {
      layers: [{ write: { 'etc/gateway/gateway.plb': ARTIFACT } }],
      labels: {
        ...ociLabels(header, { headerDigest: HEADER_DIGEST }),
        'dev.plumbline.artifact.hash': `sha256:${'ee'.repeat(32)}`,
        'org.opencontainers.image.revision': 'fedcba9876543210fedcba9876543210fedcba98',
      },
    });
    const result = await verifyImage(opts(wrong, { pathInImage: '/etc/gateway/gateway.plb' }));
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => [p.code, p.details.key])).toEqual([
      ['PLB_OCI_LABEL_MISMATCH', 'dev.plumbline.artifact.hash'],
      ['PLB_OCI_LABEL_MISMATCH', 'org.opencontainers.image.revision'],
    ]);
    expect(result.file?.status).toBe('match');

    const unlabelled = await umociImage(join(work, 'unlabelled'), {
      layers: [{ write: { 'a.txt': 'a' } }],
      labels: {},
    });
    const none = await verifyImage(opts(unlabelled));
    expect(none.problems.map((p) => p.code)).toEqual(['PLB_OCI_LABEL_MISSING']);
    expect(none.checks.filter((c) => c.status === 'absent').length).toBe(5);
  });

  it('applies whiteouts: a file removed in an upper layer is missing', async () => {
    const layout = await umociImage(join(work, 'whiteout'), {
      layers: [
        { write: { 'etc/gateway/gateway.plb': ARTIFACT, 'etc/keep': 'k' } },
        { remove: ['etc/gateway/gateway.plb'] },
      ],
      labels: ociLabels(header),
    });
    const result = await verifyImage(opts(layout, { pathInImage: '/etc/gateway/gateway.plb' }));
    expect(result.file?.status).toBe('missing');
    const dirGone = await umociImage(join(work, 'whiteout-dir'), {
      layers: [{ write: { 'etc/gateway/gateway.plb': ARTIFACT } }, { remove: ['etc/gateway'] }],
      labels: ociLabels(header),
    });
    expect(
      (await verifyImage(opts(dirGone, { pathInImage: '/etc/gateway/gateway.plb' }))).file?.status,
    ).toBe('missing');
  });

  it('refuses a tampered layer (same size, one byte changed)', async () => {
    const layout = join(work, 'tampered');
    await cp(good, layout, { recursive: true });
    const { manifest } = await imageParts(layout);
    const file = blobFile(layout, manifest.layers[1]!.digest);
    const bytes = await readFile(file);
    bytes[bytes.length - 12]! ^= 0xff;
    await writeFile(file, bytes);
    expect(await code(verifyImage(opts(layout)))).toBe('PLB_OCI_DIGEST_MISMATCH');
    expect(await code(verifyImage(opts(layout, { pathInImage: '/etc/gateway/gateway.plb' })))).toBe(
      'PLB_OCI_DIGEST_MISMATCH',
    );
    // Without layer verification only manifest and config are read: labels still check out.
    expect((await verifyImage(opts(layout, { verifyLayers: false }))).ok).toBe(true);
  });

  it('refuses a missing layer or config blob', async () => {
    const layout = join(work, 'missing');
    await cp(good, layout, { recursive: true });
    const { manifest } = await imageParts(layout);
    await unlink(blobFile(layout, manifest.layers[0]!.digest));
    expect(await code(verifyImage(opts(layout)))).toBe('PLB_OCI_BLOB_MISSING');
    await unlink(blobFile(layout, manifest.config.digest));
    expect(await code(verifyImage(opts(layout)))).toBe('PLB_OCI_BLOB_MISSING');
  });

  it('selects by ref or digest, and refuses unknown or ambiguous refs', async () => {
    const { manifestDigest } = await imageParts(good);
    expect((await verifyImage(opts(good, { ref: manifestDigest }))).refName).toBe('v1');
    expect(await code(verifyImage(opts(good, { ref: 'nope' })))).toBe('PLB_OCI_REF_NOT_FOUND');
    const two = join(work, 'two');
    await cp(good, two, { recursive: true });
    const index = JSON.parse(await readFile(join(two, 'index.json'), 'utf8'));
    index.manifests.push({
      ...index.manifests[0],
      annotations: { 'org.opencontainers.image.ref.name': 'v2' },
    });
    await writeFile(join(two, 'index.json'), JSON.stringify(index));
    expect(await code(verifyImage(opts(two)))).toBe('PLB_OCI_REF_AMBIGUOUS');
    expect((await verifyImage(opts(two, { ref: 'v2' }))).refName).toBe('v2');
  });
});

describe('verifyImage on hand-made malformed layouts', () => {
  const fileTar = () =>
    makeTar([
      { path: 'etc/', type: '5' },
      { path: 'etc/gateway.plb', data: ARTIFACT },
    ]);

  it('accepts a hand-made layout with uncompressed, gzip and (where supported) zstd layers', async () => {
    const layout = join(work, 'hand');
    const layers = [
      { tar: makeTar([{ path: 'a', data: 'a' }]), compression: 'none' as const },
      { tar: makeTar([{ path: './etc/gateway.plb', data: 'old' }]) },
      { tar: fileTar(), compression: supportsZstdLayers() ? ('zstd' as const) : ('gzip' as const) },
    ];
    await writeLayout(layout, { layers, labels: ociLabels(header) });
    const result = await verifyImage(
      opts(layout, { pathInImage: 'etc/gateway.plb', artifact: { header, file: artifactFile } }),
    );
    expect(result.ok).toBe(true);
    expect(result.file?.layer).toBe(result.layers[2]!.digest);
  });

  it('reports zstd layers as unsupported where node:zlib has no zstd', async () => {
    if (supportsZstdLayers()) {
      expect(supportsZstdLayers()).toBe(true);
      return;
    }
    const layout = join(work, 'zstd');
    const raw = Buffer.from('28b52ffd', 'hex');
    await writeLayout(layout, {
      layers: [{ tar: fileTar(), compression: 'zstd', raw }],
      labels: ociLabels(header),
    });
    expect(await code(verifyImage(opts(layout, { pathInImage: 'etc/gateway.plb' })))).toBe(
      'PLB_OCI_MEDIA_TYPE_UNSUPPORTED',
    );
  });

  it('applies opaque whiteouts and parent replacement', async () => {
    const layout = join(work, 'opaque');
    await writeLayout(layout, {
      layers: [
        { tar: fileTar() },
        { tar: makeTar([{ path: 'etc/.wh..wh..opq' }, { path: 'etc/other', data: 'o' }]) },
      ],
      labels: ociLabels(header),
    });
    expect((await verifyImage(opts(layout, { pathInImage: 'etc/gateway.plb' }))).file?.status).toBe(
      'missing',
    );
    await writeLayout(layout, {
      layers: [
        { tar: fileTar() },
        { tar: makeTar([{ path: 'etc', type: '2', linkpath: '/tmp' }]) },
      ],
      labels: ociLabels(header),
    });
    expect((await verifyImage(opts(layout, { pathInImage: 'etc/gateway.plb' }))).file?.status).toBe(
      'missing',
    );
    await writeLayout(layout, {
      layers: [{ tar: makeTar([{ path: 'etc/gateway.plb', type: '2', linkpath: '/elsewhere' }]) }],
      labels: ociLabels(header),
    });
    expect((await verifyImage(opts(layout, { pathInImage: 'etc/gateway.plb' }))).file?.status).toBe(
      'not-regular',
    );
  });

  it('refuses path traversal in a layer', async () => {
    const layout = join(work, 'traversal');
    await writeLayout(layout, {
      layers: [{ tar: makeTar([{ path: '../../etc/evil', data: 'x' }]) }],
      labels: ociLabels(header),
    });
    expect(await code(verifyImage(opts(layout, { pathInImage: 'etc/gateway.plb' })))).toBe(
      'PLB_OCI_PATH_TRAVERSAL',
    );
    await writeLayout(layout, {
      layers: [{ tar: makeTar([{ path: '/etc/abs', data: 'x' }]) }],
      labels: ociLabels(header),
    });
    expect(await code(verifyImage(opts(layout, { pathInImage: 'etc/gateway.plb' })))).toBe(
      'PLB_OCI_PATH_TRAVERSAL',
    );
    await writeLayout(layout, {
      layers: [
        { tar: makeTar([{ path: 'etc/link', type: '1', linkpath: '../../../root/.ssh/id' }]) },
      ],
      labels: ociLabels(header),
    });
    expect(await code(verifyImage(opts(layout, { pathInImage: 'etc/gateway.plb' })))).toBe(
      'PLB_OCI_PATH_TRAVERSAL',
    );
    expect(await code(verifyImage(opts(layout, { pathInImage: '/etc/../x' })))).toBe(
      'PLB_OCI_PATH_INVALID',
    );
  });

  it('refuses a missing index, a missing oci-layout and a bad layout version', async () => {
    const layout = join(work, 'noindex');
    await writeLayout(layout, { layers: [], labels: ociLabels(header) });
    await unlink(join(layout, 'index.json'));
    expect(await code(verifyImage(opts(layout)))).toBe('PLB_OCI_INDEX_MISSING');
    await unlink(join(layout, 'oci-layout'));
    expect(await code(verifyImage(opts(layout)))).toBe('PLB_OCI_LAYOUT_INVALID');
    await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    expect(await code(verifyImage(opts(layout)))).toBe('PLB_OCI_LAYOUT_INVALID');
    expect(await code(verifyImage(opts(join(work, 'does-not-exist'))))).toBe(
      'PLB_OCI_LAYOUT_INVALID',
    );
  });

  it('refuses digest and size mismatches of the manifest and config', async () => {
    const layout = join(work, 'digest');
    const { manifest, config } = await writeLayout(layout, {
      layers: [],
      labels: ociLabels(header),
    });
    const text = await readFile(blobFile(layout, config), 'utf8');
    await writeFile(blobFile(layout, config), text.replace('amd64', 'arm64'));
    expect(await code(verifyImage(opts(layout)))).toBe('PLB_OCI_DIGEST_MISMATCH');
    await writeFile(blobFile(layout, config), `${text} `);
    expect(await code(verifyImage(opts(layout)))).toBe('PLB_OCI_SIZE_MISMATCH');
    await writeFile(blobFile(layout, manifest), '{}');
    expect(await code(verifyImage(opts(layout)))).toBe('PLB_OCI_SIZE_MISMATCH');
  });

  it('refuses a huge manifest and a huge index before reading them', async () => {
    const layout = join(work, 'huge');
    await writeLayout(layout, {
      layers: [],
      labels: ociLabels(header),
      manifestExtra: { annotations: { pad: 'x'.repeat(5 * 1024 * 1024) } },
    });
    const error = await verifyImage(opts(layout)).catch((e: PlumblineError) => e);
    expect(error).toMatchObject({ code: 'PLB_OCI_LIMIT', details: { what: 'manifest' } });
    expect(
      await code(verifyImage(opts(layout, { limits: { maxManifestBytes: 64 * 1024 * 1024 } }))),
    ).toBe('no error');
    await writeFile(
      join(layout, 'index.json'),
      `{"schemaVersion":2,"manifests":[]${' '.repeat(2 * 1024 * 1024)}}`,
    );
    expect(await code(verifyImage(opts(layout)))).toBe('PLB_OCI_LIMIT');
    expect(await code(verifyImage(opts(layout, { limits: { maxIndexBytes: -1 } })))).toBe(
      'PLB_OCI_OPTIONS',
    );
  });

  it('refuses malformed JSON and unsupported digests and media types', async () => {
    const layout = join(work, 'json');
    const { manifest } = await writeLayout(layout, { layers: [], labels: ociLabels(header) });
    const indexFile = join(layout, 'index.json');
    const index = await readFile(indexFile, 'utf8');
    await writeFile(indexFile, '{"schemaVersion":2,"manifests":[');
    expect(await code(verifyImage(opts(layout)))).toBe('PLB_OCI_JSON_INVALID');
    await writeFile(indexFile, '{"schemaVersion":1,"manifests":[]}');
    expect(await code(verifyImage(opts(layout)))).toBe('PLB_OCI_JSON_INVALID');
    await writeFile(indexFile, '{"schemaVersion":2,"manifests":[]}');
    expect(await code(verifyImage(opts(layout)))).toBe('PLB_OCI_REF_NOT_FOUND');
    await writeFile(indexFile, index.replace(manifest, `sha512:${'a'.repeat(128)}`));
    expect(await code(verifyImage(opts(layout)))).toBe('PLB_OCI_DIGEST_UNSUPPORTED');
    await writeFile(indexFile, index.replace(manifest, `sha256:../../../etc/passwd`));
    expect(await code(verifyImage(opts(layout)))).toBe('PLB_OCI_JSON_INVALID');
    await writeFile(indexFile, index.replace('image.manifest.v1+json', 'image.layer.v1.tar'));
    expect(await code(verifyImage(opts(layout)))).toBe('PLB_OCI_MEDIA_TYPE_UNSUPPORTED');
  });

  it('refuses a diff_id mismatch and a corrupt layer with the right digest', async () => {
    const layout = join(work, 'diffid');
    await writeLayout(layout, {
      layers: [{ tar: fileTar(), diffId: `sha256:${'00'.repeat(32)}` }],
      labels: ociLabels(header),
    });
    expect(await code(verifyImage(opts(layout, { pathInImage: 'etc/gateway.plb' })))).toBe(
      'PLB_OCI_DIFFID_MISMATCH',
    );
    await writeLayout(layout, {
      layers: [{ tar: fileTar(), raw: gzipSync(Buffer.from('not a tar archive')) }],
      labels: ociLabels(header),
    });
    expect(await code(verifyImage(opts(layout, { pathInImage: 'etc/gateway.plb' })))).toBe(
      'PLB_OCI_LAYER_INVALID',
    );
    await writeLayout(layout, {
      layers: [{ tar: fileTar(), raw: gzipSync(fileTar()).subarray(0, 40) }],
      labels: ociLabels(header),
    });
    expect(await code(verifyImage(opts(layout, { pathInImage: 'etc/gateway.plb' })))).toBe(
      'PLB_OCI_LAYER_INVALID',
    );
  });

  it('enforces the uncompressed size and entry-count limits (decompression bombs)', async () => {
    const layout = join(work, 'bomb');
    await writeLayout(layout, {
      layers: [{ tar: makeTar([{ path: 'zeros', data: Buffer.alloc(4 * 1024 * 1024) }]) }],
      labels: ociLabels(header),
    });
    expect(
      await code(
        verifyImage(
          opts(layout, {
            pathInImage: 'zeros',
            limits: { maxUncompressedLayerBytes: 1024 * 1024 },
          }),
        ),
      ),
    ).toBe('PLB_OCI_LIMIT');
    await writeLayout(layout, {
      layers: [
        { tar: makeTar(Array.from({ length: 20 }, (_, i) => ({ path: `f${i}`, data: 'x' }))) },
      ],
      labels: ociLabels(header),
    });
    expect(
      await code(verifyImage(opts(layout, { pathInImage: 'f1', limits: { maxLayerEntries: 10 } }))),
    ).toBe('PLB_OCI_LIMIT');
    expect(await code(verifyImage(opts(layout, { limits: { maxLayerBytes: 10 } })))).toBe(
      'PLB_OCI_LIMIT',
    );
  });

  it('follows a nested image index by platform', async () => {
    const layout = join(work, 'nested');
    const { manifest } = await writeLayout(layout, { layers: [], labels: ociLabels(header) });
    const manifestBytes = await readFile(blobFile(layout, manifest));
    const nested = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: manifest,
            size: manifestBytes.length,
            platform: { os: 'linux', architecture: 'amd64' },
          },
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: `sha256:${'9'.repeat(64)}`,
            size: 10,
            platform: { os: 'linux', architecture: 'arm64' },
          },
        ],
      }),
    );
    const nestedDigest = sha256(nested);
    await writeFile(blobFile(layout, nestedDigest), nested);
    await writeFile(
      join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.index.v1+json',
            digest: nestedDigest,
            size: nested.length,
          },
        ],
      }),
    );
    expect(
      (await verifyImage(opts(layout, { platform: { os: 'linux', architecture: 'amd64' } }))).ok,
    ).toBe(true);
    expect(
      await code(verifyImage(opts(layout, { platform: { os: 'linux', architecture: 'arm64' } }))),
    ).toBe('PLB_OCI_BLOB_MISSING');
    expect(
      await code(verifyImage(opts(layout, { platform: { os: 'windows', architecture: 'amd64' } }))),
    ).toBe('PLB_OCI_PLATFORM_NOT_FOUND');
    expect(await code(verifyImage(opts(layout, { limits: { maxIndexDepth: 0 } })))).toBe(
      'PLB_OCI_LIMIT',
    );
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await code(verifyImage(opts(good, { signal: controller.signal })))).toBe('PLB_ABORTED');
    expect(await code(verifyImage({ layout: good, artifact: { header }, pathInImage: 'x' }))).toBe(
      'PLB_OCI_OPTIONS',
    );
  });
});
