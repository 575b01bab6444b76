// Writes `.bca` artifacts the way the compiler of each Barbacane artifact version writes them,
// from our own code (no Barbacane code or build is used). Each rule cites barbacane-dev/barbacane
// `crates/barbacane-compiler/src/artifact.rs` at the tag named. The samples committed under
// packages/examples/fixtures/barbacane/ are written with it (make-bca.ts there).
//
//   version 1  Barbacane 0.1.0 to 0.2.1   no artifact_hash, no provenance
//   version 2  Barbacane 0.3.0 to 0.5.2   artifact_hash over specs and checksums; provenance;
//                                         plugin capabilities.body_access from 0.4.0
//   version 3  Barbacane 0.6.0 to 0.7.0   adds mcp (not hashed)
//   version 4  Barbacane 0.8.0 and 0.8.1  hashes capabilities_enforced, the plugins' capability
//                                         surface and mcp; capabilities.host_functions
//   version 5  main after 0.8.1           adds the WAF policy (`waf`) to the manifest and hash
//   version 6  main after 0.8.1           routes.json gains allowed_request_headers
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';

/** A Barbacane release and the artifact version its compiler writes. */
export interface BarbacaneRelease {
  readonly artifactVersion: 1 | 2 | 3 | 4 | 5 | 6;
  readonly compilerVersion: string;
}

/** The last release writing each version (5 and 6: the main branch, still versioned 0.8.1). */
export const SAMPLE_RELEASES: readonly BarbacaneRelease[] = [
  { artifactVersion: 1, compilerVersion: '0.2.1' },
  { artifactVersion: 2, compilerVersion: '0.5.2' },
  { artifactVersion: 3, compilerVersion: '0.7.0' },
  { artifactVersion: 4, compilerVersion: '0.8.1' },
  { artifactVersion: 5, compilerVersion: '0.8.1' },
  { artifactVersion: 6, compilerVersion: '0.8.1' },
];

/** What is compiled: spec files (by base name) and plugins. */
export interface CompileInputs {
  readonly specs: readonly { readonly file: string; readonly content: string }[];
  readonly plugins: readonly {
    readonly name: string;
    readonly version: string;
    readonly pluginType: string;
    readonly wasm: Uint8Array;
    readonly hostFunctions: readonly string[];
  }[];
  readonly compiledAt: string;
  readonly provenance: { readonly commit: string | null; readonly source: string | null };
  /** Version 4 on: whether the plugins' capabilities came from plugin.toml. */
  readonly capabilitiesEnforced: boolean;
}

/** The folder of the committed samples and their inputs. */
const SAMPLES = new URL('../../examples/fixtures/barbacane/', import.meta.url);

const sha256 = (data: string | Uint8Array): string =>
  createHash('sha256').update(data).digest('hex');

/** Rust `String` order: by UTF-8 bytes. */
const byBytes = (a: string, b: string): number =>
  Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/**
 * `tar::Header::new_gnu()` then `set_size`, `set_mode(0o644)`, `set_mtime(0)`, `set_cksum()`
 * (`add_file_to_tar`, every tag): magic "ustar " and version " \0", entry type byte left 0,
 * uid, gid, user and group names left zero; numbers are zero-padded octal ending in NUL.
 */
export function gnuHeader(name: string, size: number, type = 0): Buffer {
  const block = Buffer.alloc(512);
  const octal = (offset: number, length: number, value: number): void => {
    block.write(value.toString(8).padStart(length - 1, '0'), offset, length - 1, 'ascii');
  };
  const path = Buffer.from(name, 'utf8');
  if (path.length > 100) throw new Error(`${name}: the samples use names of at most 100 bytes`);
  path.copy(block, 0);
  octal(100, 8, 0o644);
  octal(124, 12, size);
  octal(136, 12, 0);
  block[156] = type;
  block.write('ustar ', 257, 'ascii');
  block.write(' \0', 263, 'ascii');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.fill(0, 148, 156);
  octal(148, 8, sum);
  return block;
}

/** One member: its GNU header (entry type byte `type`) and its data padded to 512 bytes. */
export function tarMember(name: string, content: Uint8Array, type = 0): Buffer {
  const padded = Buffer.alloc(Math.ceil(content.length / 512) * 512);
  padded.set(content);
  return Buffer.concat([gnuHeader(name, content.length, type), padded]);
}

/** `serde_json::to_string_pretty` of our values (strings, booleans, numbers, null, arrays, objects). */
const pretty = (value: unknown): string => JSON.stringify(value, null, 2);

function routesJson(release: BarbacaneRelease): string {
  const v = release.artifactVersion;
  // `CompiledOperation`: summary/description and mcp_* from 0.7.0, allowed_request_headers at
  // version 6; `messages`, `bindings` and `responses` are skipped when empty.
  const operation = {
    index: 0,
    path: '/health',
    method: 'GET',
    operation_id: 'getHealth',
    ...(v >= 3 ? { summary: null, description: null } : {}),
    parameters: [],
    request_body: null,
    dispatch: { name: 'mock', config: { status: 200, body: '{"status":"ok"}' } },
    middlewares: [{ name: 'rate-limit', config: { quota: 100, window: 60 } }],
    deprecated: false,
    sunset: null,
    ...(v >= 3 ? { mcp_enabled: null, mcp_description: null } : {}),
    ...(v >= 6 ? { allowed_request_headers: [] } : {}),
  };
  return pretty({ operations: [operation] });
}

/** The `artifact_hash` lines of `compute_artifact_hash`, written out per version. */
function artifactHash(release: BarbacaneRelease, manifest: Record<string, unknown>): string {
  const specs = manifest['source_specs'] as { file: string; sha256: string }[];
  const checksums = manifest['checksums'] as Record<string, string>;
  let text = '';
  // v0.3.0 on: "source_spec:{file}={sha256}\n" per spec (sorted by file), "{key}={value}\n" per
  // checksum (BTreeMap order).
  for (const spec of specs) text += `source_spec:${spec.file}=${spec.sha256}\n`;
  for (const key of Object.keys(checksums).sort(byBytes)) text += `${key}=${checksums[key]}\n`;
  if (release.artifactVersion >= 4) {
    // v0.8.0, v0.8.1: the capability surface (host_functions sorted) and mcp.
    text += `capabilities_enforced=${String(manifest['capabilities_enforced'])}\n`;
    for (const p of manifest['plugins'] as {
      name: string;
      plugin_type: string;
      version: string;
      capabilities: { body_access: boolean; host_functions: string[] };
    }[]) {
      const host = [...p.capabilities.host_functions].sort(byBytes).join(',');
      text += `plugin:${p.name}\ttype=${p.plugin_type}\tversion=${p.version}\tbody_access=${String(p.capabilities.body_access)}\thost_functions=${host}\n`;
    }
    text += 'mcp:enabled=false\tserver_name=\tserver_version=\n';
  }
  if (release.artifactVersion >= 5) {
    // main after v0.8.1: the WAF policy, enums printed with `{:?}`.
    text +=
      'waf:enabled=false\tparanoia=0\tmode=Blocking\tinbound=0\toutbound=0\tmax_response_body=1048576\taudit=RelevantOnly\tunsupported=Fail\tskipped=\n';
  }
  return `sha256:${sha256(text)}`;
}

function manifestOf(release: BarbacaneRelease, inputs: CompileInputs, routes: string): string {
  const v = release.artifactVersion;
  const checksums: Record<string, string> = { 'routes.json': `sha256:${sha256(routes)}` };
  const plugins = inputs.plugins
    .map((p) => {
      checksums[`plugins/${p.name}.wasm`] = `sha256:${sha256(p.wasm)}`;
      const capabilities =
        v >= 4
          ? { body_access: false, host_functions: [...p.hostFunctions] }
          : { body_access: false };
      return {
        name: p.name,
        version: p.version,
        plugin_type: p.pluginType,
        wasm_path: `plugins/${p.name}.wasm`,
        sha256: sha256(p.wasm),
        // `BundledPlugin.capabilities` from 0.4.0 (version 2 of 0.3.x has none).
        ...(v >= 2 && release.compilerVersion !== '0.3.0' && release.compilerVersion !== '0.3.1'
          ? { capabilities }
          : {}),
      };
    })
    .sort((a, b) => byBytes(a.name, b.name));
  const sourceSpecs = inputs.specs
    .map((s) => ({ file: s.file, sha256: sha256(s.content), type: 'openapi', version: '3.1.0' }))
    .sort((a, b) => byBytes(a.file, b.file));
  // `Manifest` field order of each version.
  const manifest: Record<string, unknown> = {
    barbacane_artifact_version: v,
    compiled_at: inputs.compiledAt,
    compiler_version: release.compilerVersion,
    source_specs: sourceSpecs,
    routes_count: 1,
    checksums: Object.fromEntries(Object.entries(checksums).sort(([a], [b]) => byBytes(a, b))),
    plugins,
  };
  if (v >= 4) manifest['capabilities_enforced'] = inputs.capabilitiesEnforced;
  const hash = v >= 2 ? artifactHash(release, manifest) : undefined;
  const capabilitiesEnforced = manifest['capabilities_enforced'];
  delete manifest['capabilities_enforced'];
  if (hash !== undefined) {
    manifest['artifact_hash'] = hash;
    manifest['provenance'] = { commit: inputs.provenance.commit, source: inputs.provenance.source };
  }
  if (v >= 3) manifest['mcp'] = { enabled: false, server_name: null, server_version: null };
  if (v >= 5) {
    // `WafConfig`: ruleset and rules_path skipped when None, skipped_rules when empty.
    manifest['waf'] = {
      enabled: false,
      paranoia_level: 0,
      mode: 'blocking',
      inbound_threshold: 0,
      outbound_threshold: 0,
      max_response_body: 1048576,
      audit: 'relevant-only',
      unsupported_rules: 'fail',
    };
  }
  // signature and signing_public_key are skipped when None (unsigned build).
  if (v >= 4) manifest['capabilities_enforced'] = capabilitiesEnforced;
  return pretty(manifest);
}

/**
 * The tar stream a release's compiler writes: manifest.json, routes.json, specs/<base name> in
 * input order, plugins/<name>.wasm in input order (`compile_inner`), then `Builder::finish`'s
 * two zero blocks.
 */
export function releaseTar(release: BarbacaneRelease, inputs: CompileInputs): Buffer {
  const routes = routesJson(release);
  const parts = [
    tarMember('manifest.json', Buffer.from(manifestOf(release, inputs, routes))),
    tarMember('routes.json', Buffer.from(routes)),
  ];
  for (const spec of inputs.specs)
    parts.push(tarMember(`specs/${spec.file}`, Buffer.from(spec.content)));
  for (const p of inputs.plugins) parts.push(tarMember(`plugins/${p.name}.wasm`, p.wasm));
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** `GzEncoder::new(file, Compression::default())`: level 6; flate2 writes OS byte 255. */
export function releaseBca(release: BarbacaneRelease, inputs: CompileInputs): Buffer {
  const gz = gzipSync(releaseTar(release, inputs), { level: 6 });
  gz[9] = 255;
  return gz;
}

/** The inputs of the committed samples: specs/health.yaml and the example rate-limit plugin. */
export function sampleInputs(): CompileInputs {
  const here = (path: string) => new URL(path, SAMPLES);
  return {
    specs: [{ file: 'health.yaml', content: readFileSync(here('./specs/health.yaml'), 'utf8') }],
    plugins: [
      {
        name: 'rate-limit',
        version: '0.1.0',
        pluginType: 'middleware',
        wasm: readFileSync(here('../gateway-config/plugins/rate-limit.wasm')),
        hostFunctions: [],
      },
    ],
    compiledAt: '2026-03-01T10:30:00Z',
    provenance: { commit: '8f3c2a1b9d4e5f60718293a4b5c6d7e8f9012345', source: 'ci/github-actions' },
    capabilitiesEnforced: true,
  };
}

/** Where the sample of an artifact version is committed. */
export const samplePath = (version: number): URL => new URL(`./gateway-v${version}.bca`, SAMPLES);

/**
 * What an attacker does with a sealed copy: rewrite manifest.json in place, recompute
 * Barbacane's own artifact_hash with its formula, and keep every other member (and the embedded
 * header) byte for byte.
 */
export async function tamper(
  sealed: string,
  edit: (m: Record<string, unknown>) => void,
  rehash: (m: Record<string, unknown>) => string,
): Promise<string> {
  const tar = gunzipSync(await readFile(sealed));
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset < tar.length) {
    const block = tar.subarray(offset, offset + 512);
    if (block.every((b) => b === 0)) break;
    const name = block.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(block.subarray(124, 136).toString('latin1').replace(/\0.*$/s, ''), 8);
    const next = offset + 512 + Math.ceil(size / 512) * 512;
    if (name === 'manifest.json') {
      const m = JSON.parse(tar.subarray(offset + 512, offset + 512 + size).toString('utf8'));
      edit(m);
      m.artifact_hash = rehash(m);
      parts.push(tarMember('manifest.json', Buffer.from(JSON.stringify(m, null, 2))));
    } else {
      parts.push(tar.subarray(offset, next));
    }
    offset = next;
  }
  parts.push(Buffer.alloc(1024));
  const out = `${sealed}.tampered.bca`;
  await writeFile(out, gzipSync(Buffer.concat(parts)));
  return out;
}
