import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One entry of {@link makeTar}. */
export interface TarEntry {
  readonly path: string;
  /** Typeflag: '0' file (default), '2' symlink, '5' directory, or any other byte. */
  readonly type?: string;
  readonly data?: string;
  readonly linkpath?: string;
}

const octal = (value: number, width: number): string =>
  `${value.toString(8).padStart(width - 1, '0')}\0`;

/** A ustar archive with its end blocks. */
export function makeTar(entries: readonly TarEntry[]): Uint8Array {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? '');
    const header = Buffer.alloc(512);
    header.write(entry.path, 0, 100, 'utf8');
    header.write(octal(0o644, 8), 100);
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
  return new Uint8Array(Buffer.concat(blocks));
}

async function blob(layout: string, bytes: Uint8Array): Promise<{ digest: string; size: number }> {
  const hex = createHash('sha256').update(bytes).digest('hex');
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(layout, 'blobs', 'sha256', hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

/** An OCI image layout with one uncompressed layer (no diff_ids, so any tar bytes are read). */
export async function makeLayout(layout: string, layer: Uint8Array): Promise<void> {
  await mkdir(layout, { recursive: true });
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const l = await blob(layout, layer);
  const config = await blob(
    layout,
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {} })),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l }],
    }),
  );
  const m = await blob(layout, manifest);
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m }],
    }),
  );
}

const sha = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** A Barbacane `.bca` (tar+gzip) with a version-6 manifest, routes, one spec and one plugin. */
export function makeBca(): Uint8Array {
  const spec = 'openapi: 3.1.0\ninfo:\n  title: Pets\n  version: 1.0.0\npaths: {}\n';
  const routes = '{\n  "operations": []\n}';
  const wasm = '\0asm\u0001\0\0\0';
  const manifest = {
    barbacane_artifact_version: 6,
    compiled_at: '2026-03-01T10:30:00Z',
    compiler_version: '0.6.0',
    source_specs: [{ file: 'api.yaml', sha256: sha(spec), type: 'openapi', version: '3.1.0' }],
    routes_count: 0,
    checksums: {
      'routes.json': `sha256:${sha(routes)}`,
      'plugins/rate-limit.wasm': `sha256:${sha(wasm)}`,
    },
    plugins: [
      {
        name: 'rate-limit',
        version: '1.0.0',
        plugin_type: 'middleware',
        wasm_path: 'plugins/rate-limit.wasm',
        sha256: sha(wasm),
        capabilities: { body_access: false, host_functions: ['host_log'] },
      },
    ],
    artifact_hash: `sha256:${sha('fuzz')}`,
    provenance: { commit: 'abc123def456', source: 'ci/github-actions' },
  };
  return makeTar([
    { path: 'manifest.json', data: JSON.stringify(manifest, null, 2) },
    { path: 'routes.json', data: routes },
    { path: 'specs/api.yaml', data: spec },
    { path: 'plugins/rate-limit.wasm', data: wasm },
  ]);
}
