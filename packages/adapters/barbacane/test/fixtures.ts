import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header, create } from 'tar';

export const hex = (data: string | Uint8Array): string =>
  createHash('sha256').update(data).digest('hex');

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'plb-bca-'));
}

export const SPEC = 'openapi: 3.1.0\ninfo:\n  title: Pets\n  version: 1.0.0\npaths: {}\n';
export const ROUTES = '{\n  "operations": []\n}';
export const WASM = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);

/**
 * A version-6 manifest of one spec, routes.json and one plugin, with the artifact_hash written
 * out line by line from Barbacane's compiler (independent of the code under test).
 */
export function v6Manifest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const specSha = hex(SPEC);
  const routesSha = hex(ROUTES);
  const wasmSha = hex(WASM);
  const lines =
    `source_spec:api.yaml=${specSha}\n` +
    `plugins/rate-limit.wasm=sha256:${wasmSha}\n` +
    `routes.json=sha256:${routesSha}\n` +
    `capabilities_enforced=true\n` +
    `plugin:rate-limit\ttype=middleware\tversion=1.0.0\tbody_access=false\thost_functions=host_log,host_time\n` +
    `mcp:enabled=false\tserver_name=\tserver_version=\n` +
    `waf:enabled=false\tparanoia=0\tmode=Blocking\tinbound=0\toutbound=0\tmax_response_body=1048576\taudit=RelevantOnly\tunsupported=Fail\tskipped=\n`;
  return {
    barbacane_artifact_version: 6,
    compiled_at: '2026-03-01T10:30:00Z',
    compiler_version: '0.6.0',
    source_specs: [{ file: 'api.yaml', sha256: specSha, type: 'openapi', version: '3.1.0' }],
    routes_count: 0,
    checksums: {
      'routes.json': `sha256:${routesSha}`,
      'plugins/rate-limit.wasm': `sha256:${wasmSha}`,
    },
    plugins: [
      {
        name: 'rate-limit',
        version: '1.0.0',
        plugin_type: 'middleware',
        wasm_path: 'plugins/rate-limit.wasm',
        sha256: wasmSha,
        capabilities: { body_access: false, host_functions: ['host_time', 'host_log'] },
      },
    ],
    artifact_hash: `sha256:${hex(lines)}`,
    provenance: { commit: 'abc123def456', source: 'ci/github-actions' },
    mcp: { enabled: false, server_name: null, server_version: null },
    waf: {
      enabled: false,
      paranoia_level: 0,
      mode: 'blocking',
      inbound_threshold: 0,
      outbound_threshold: 0,
      max_response_body: 1048576,
      audit: 'relevant-only',
      unsupported_rules: 'fail',
    },
    capabilities_enforced: true,
    ...overrides,
  };
}

/** Builds a .bca with the `tar` package from a map of member path → content. */
export async function buildBca(
  dir: string,
  files: Record<string, string | Uint8Array>,
  name = 'gateway.bca',
): Promise<string> {
  const src = join(dir, `${name}.src`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(src, path)), { recursive: true });
    await writeFile(join(src, path), content);
  }
  const file = join(dir, name);
  await create({ gzip: true, file, cwd: src, portable: true }, Object.keys(files));
  return file;
}

export function standardFiles(manifest = v6Manifest()): Record<string, string | Uint8Array> {
  return {
    'manifest.json': JSON.stringify(manifest, null, 2),
    'routes.json': ROUTES,
    'specs/api.yaml': SPEC,
    'plugins/rate-limit.wasm': WASM,
  };
}

export interface RawEntry {
  readonly path: string;
  readonly type?: string;
  readonly data?: Uint8Array | string;
  readonly linkpath?: string;
  /** Size claimed in the header (defaults to the data length). */
  readonly size?: number;
}

/** Hand-builds a tar.gz (for entries the tar package would refuse to create). */
export function rawBca(entries: readonly RawEntry[], options: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data =
      typeof entry.data === 'string' ? Buffer.from(entry.data) : Buffer.from(entry.data ?? []);
    const header = new Header({
      path: entry.path,
      type: (entry.type ?? 'File') as 'File',
      size: entry.size ?? data.length,
      mode: 0o644,
      mtime: new Date(0),
      ...(entry.linkpath === undefined ? {} : { linkpath: entry.linkpath }),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    parts.push(block);
    const padded = Buffer.alloc(Math.ceil(data.length / 512) * 512);
    data.copy(padded);
    parts.push(padded);
  }
  if (options.end !== false) parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

/** A raw Barbacane data plane on a WebSocket: its serde messages in and out, as JSON. */
export { connectRaw, type RawClient as RawGateway } from '@plumbline/testkit/ws-client';
