import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ProvenanceHeader } from '@plumbline/core/header';

export const sha256 = (bytes: Uint8Array): string =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

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
        path: 'openapi/petstore.yaml',
        size: 10,
        digest: `sha256:${'01'.repeat(32)}`,
        role: 'spec',
      },
      {
        path: 'plugins/auth.wasm',
        size: 20,
        digest: `sha256:${'02'.repeat(32)}`,
        role: 'plugin',
        media_type: 'application/wasm',
      },
    ],
    payload: {
      digest: `sha256:${'03'.repeat(32)}`,
      size: 30,
      media_type: 'application/octet-stream',
    },
    extensions: {},
    ...overrides,
  };
}

export const HEADER_DIGEST = `sha256:${'cd'.repeat(32)}`;

/** One tar entry for {@link makeTar}. */
export interface TarEntry {
  path: string;
  /** A typeflag: '0' file, '1' hard link, '2' symlink, '5' directory, or any other byte. */
  type?: string;
  data?: Uint8Array | string;
  linkpath?: string;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** A ustar archive with end-of-archive blocks (paths written verbatim, even `../x`). */
export function makeTar(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data =
      entry.data === undefined ? Buffer.alloc(0) : Buffer.from(entry.data as string | Uint8Array);
    const header = Buffer.alloc(512);
    header.write(entry.path, 0, 100, 'utf8');
    header.write(octal(entry.type === '5' ? 0o755 : 0o644, 8), 100);
    header.write(octal(0, 8), 108);
    header.write(octal(0, 8), 116);
    header.write(octal(data.length, 12), 124);
    header.write(octal(1_700_000_000, 12), 136);
    header.write('        ', 148);
    header.write(entry.type ?? '0', 156);
    if (entry.linkpath) header.write(entry.linkpath, 157, 100, 'utf8');
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** A layer for {@link writeLayout}. */
export interface LayerSpec {
  tar: Buffer;
  compression?: 'gzip' | 'none' | 'zstd';
  /** Bytes to store instead of the compressed tar (digest computed over them). */
  raw?: Buffer;
  diffId?: string;
}

async function writeBlob(layout: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  const file = join(layout, 'blobs', 'sha256', digest.slice(7));
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, bytes);
  return digest;
}

/** Writes a hand-made OCI layout with one image; returns the digests written. */
export async function writeLayout(
  layout: string,
  options: {
    layers: LayerSpec[];
    labels?: Record<string, string>;
    ref?: string;
    manifestExtra?: Record<string, unknown>;
  },
): Promise<{ manifest: string; config: string; layers: string[] }> {
  await rm(layout, { recursive: true, force: true });
  await mkdir(layout, { recursive: true });
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const descriptors = [];
  const diffIds = [];
  for (const layer of options.layers) {
    const compression = layer.compression ?? 'gzip';
    let bytes: Buffer;
    if (layer.raw) bytes = layer.raw;
    else if (compression === 'gzip') bytes = gzipSync(layer.tar);
    else if (compression === 'zstd') {
      const zlib = (await import('node:zlib')) as unknown as {
        zstdCompressSync: (b: Buffer) => Buffer;
      };
      bytes = zlib.zstdCompressSync(layer.tar);
    } else bytes = layer.tar;
    const digest = await writeBlob(layout, bytes);
    descriptors.push({
      mediaType: `application/vnd.oci.image.layer.v1.tar${compression === 'none' ? '' : `+${compression}`}`,
      digest,
      size: bytes.length,
    });
    diffIds.push(layer.diffId ?? sha256(layer.tar));
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: options.labels ?? {} },
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
  const configDigest = await writeBlob(layout, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: descriptors,
      ...options.manifestExtra,
    }),
  );
  const manifestDigest = await writeBlob(layout, manifest);
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifestDigest,
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': options.ref ?? 'v1' },
        },
      ],
    }),
  );
  return {
    manifest: manifestDigest,
    config: configDigest,
    layers: descriptors.map((d) => d.digest),
  };
}

function umoci(args: string[], cwd: string): void {
  execFileSync('umoci', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const rootless = (): string[] => (process.getuid?.() === 0 ? [] : ['--rootless']);

/**
 * Builds a real image with umoci: `umoci init`, `new`, then one `unpack`/`repack` per layer
 * (writing or deleting files in the rootfs), then `config --config.label`.
 */
export async function umociImage(
  work: string,
  options: {
    layers: { write?: Record<string, string | Uint8Array>; remove?: string[] }[];
    labels: Record<string, string>;
    tag?: string;
  },
): Promise<string> {
  const layout = join(work, 'image');
  const tag = options.tag ?? 'v1';
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  umoci(['init', '--layout', layout], work);
  umoci(['new', '--image', `${layout}:${tag}`], work);
  for (const [i, layer] of options.layers.entries()) {
    const bundle = join(work, `bundle-${i}`);
    umoci(['unpack', ...rootless(), '--image', `${layout}:${tag}`, bundle], work);
    for (const [path, content] of Object.entries(layer.write ?? {})) {
      const file = join(bundle, 'rootfs', path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content);
    }
    for (const path of layer.remove ?? []) {
      await rm(join(bundle, 'rootfs', path), { recursive: true, force: true });
    }
    umoci(['repack', '--image', `${layout}:${tag}`, bundle], work);
    await rm(bundle, { recursive: true, force: true });
  }
  const labelArgs = Object.entries(options.labels).flatMap(([k, v]) => [
    '--config.label',
    `${k}=${v}`,
  ]);
  if (labelArgs.length > 0) umoci(['config', '--image', `${layout}:${tag}`, ...labelArgs], work);
  umoci(['gc', '--layout', layout], work);
  return layout;
}

/** Reads a JSON file. */
export async function readJson(file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
}

/** The blob file of a digest. */
export function blobFile(layout: string, digest: string): string {
  return join(layout, 'blobs', 'sha256', digest.slice(7));
}

/** The manifest (and its layers) of the only image in a layout. */
export async function imageParts(layout: string): Promise<{
  manifestDigest: string;
  manifest: { config: { digest: string }; layers: { digest: string; size: number }[] };
}> {
  const index = (await readJson(join(layout, 'index.json'))) as {
    manifests: { digest: string }[];
  };
  const manifestDigest = index.manifests[0]!.digest;
  const manifest = (await readJson(blobFile(layout, manifestDigest))) as {
    config: { digest: string };
    layers: { digest: string; size: number }[];
  };
  return { manifestDigest, manifest };
}
