/**
 * Plumbline provenance headers for Barbacane `.bca` artifacts: creation (detached sidecar or an
 * extra archive member Barbacane ignores) and lookup.
 *
 * @packageDocumentation
 */
import { PlumblineError } from '@plumbline/core';
import {
  createHeader,
  type CreateHeaderOptions,
  decodeHeader,
  encodeHeader,
  type HeaderValue,
  type ProvenanceHeader,
} from '@plumbline/core/header';
import type { Manifest, ManifestEntry } from '@plumbline/core/manifest';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '@plumbline/core/node';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { barbacaneArtifactHash } from './artifact-hash.js';
import { manifestOfMembers, readBca, type BcaArtifact, type ReadBcaOptions } from './read.js';

/** The archive member that holds an embedded Plumbline header. @public */
export const BCA_HEADER_MEMBER = 'plumbline/header.cbor';

/** The suffix of a detached header file (`gateway.bca` → `gateway.bca.plumbline`). @public */
export const BCA_SIDECAR_SUFFIX = '.plumbline';

/** The payload media type recorded for a `.bca`. @public */
export const BCA_MEDIA_TYPE = 'application/vnd.barbacane.bca+gzip';

/** Largest embedded or sidecar header read back, in bytes (1 MiB). @public */
export const MAX_BCA_HEADER_BYTES = 1024 * 1024;

/**
 * Options of {@link sealBca}.
 *
 * @public
 */
export interface SealBcaOptions {
  /** `sidecar` writes `<file>.plumbline`; `embed` writes a copy of the archive with the header as an extra member. */
  readonly mode: 'sidecar' | 'embed';
  /** Where to write: the sidecar path, or the sealed copy's path (may equal the input to replace it). Defaults: `<file>.plumbline` / `<file>` with `.sealed.bca`. */
  readonly output?: string;
  /** Who built the artifact. Default `{ id: 'barbacane', version: <compiler_version> }`. */
  readonly builder?: { readonly id: string; readonly version: string };
  /** Git commit (40 or 64 hex). Default: the manifest's `provenance.commit` when it is a full object id. */
  readonly commit?: string;
  /** Repository (`owner/repo` or URL). */
  readonly source?: string;
  /** Git ref. */
  readonly ref?: string;
  /** CI run URL. */
  readonly buildUrl?: string;
  /** Build time. Default: the manifest's `compiled_at` (`SOURCE_DATE_EPOCH` wins when set). */
  readonly buildTimestamp?: Date | number | string;
  /** `SOURCE_DATE_EPOCH`; pass `null` to ignore the environment. Default: `process.env`. */
  readonly sourceDateEpoch?: string | null;
  /** Limits for reading the archive. */
  readonly read?: ReadBcaOptions;
}

/**
 * The result of {@link sealBca}.
 *
 * @public
 */
export interface SealBcaResult {
  /** The Plumbline header created for the archive. */
  readonly header: ProvenanceHeader;
  /** The deterministic CBOR encoding written. */
  readonly encoded: Uint8Array;
  /** The path written. */
  readonly output: string;
  /** The mode used: `sidecar` (a detached header file) or `embed` (a sealed copy of the archive). */
  readonly mode: 'sidecar' | 'embed';
}

/**
 * Which members are inputs of a sealed `.bca`: `specs/…` (spec), `plugins/…` (plugin),
 * `manifest.json`, `routes.json` and `waf/…` (config): every member a Barbacane loader reads
 * (`load_manifest`, `load_routes`, `load_specs`, `load_plugins` by the manifest's `wasm_path`
 * under `plugins/`, `load_waf_rules`). `manifest.json` carries what no member checksum and no
 * Barbacane hash line covers (`wasm_path`, each plugin's `sha256`, the artifact version), so it
 * is bound byte for byte. The header member is not an input.
 *
 * @internal
 */
export function sealRoleOf(path: string): NonNullable<ManifestEntry['role']> | null {
  if (path.startsWith('specs/')) return 'spec';
  if (path.startsWith('plugins/')) return 'plugin';
  if (path === 'manifest.json' || path === 'routes.json' || path.startsWith('waf/')) {
    return 'config';
  }
  return null;
}

/**
 * {@link sealRoleOf} without `manifest.json`: the inputs of headers written before the manifest
 * was bound (a detached sidecar of those still binds it through the payload digest).
 *
 * @internal
 */
export function legacySealRoleOf(path: string): NonNullable<ManifestEntry['role']> | null {
  return path === 'manifest.json' ? null : sealRoleOf(path);
}

/**
 * The Plumbline manifest a sealed `.bca` is checked against: its manifest, specs, plugins,
 * compiled routes and WAF rules.
 *
 * @example
 * ```ts
 * const root = bcaSealInputs(await readBca('gateway.bca')).root;
 * ```
 * @public
 */
export function bcaSealInputs(bca: Pick<BcaArtifact, 'members'>): Manifest {
  return manifestOfMembers(bca.members, sealRoleOf);
}

function barbacaneExtension(
  bca: BcaArtifact,
  tar: { digest: string; size: number } | null,
): Record<string, HeaderValue> {
  const m = bca.manifest as Record<string, unknown>;
  const provenance = (m['provenance'] ?? {}) as { commit?: string | null; source?: string | null };
  const ext: Record<string, HeaderValue> = {
    artifact_version: bca.version,
    compiler_version: bca.manifest.compiler_version,
    compiled_at: bca.manifest.compiled_at,
    routes_count: bca.manifest.routes_count,
  };
  if (typeof m['artifact_hash'] === 'string') ext['artifact_hash'] = m['artifact_hash'];
  if (typeof provenance.commit === 'string') ext['provenance_commit'] = provenance.commit;
  if (typeof provenance.source === 'string') ext['provenance_source'] = provenance.source;
  if (tar !== null) {
    // The embedded form: the uncompressed tar stream before the header member, every byte of
    // every member header and body Barbacane reads.
    ext['tar_digest'] = tar.digest;
    ext['tar_size'] = tar.size;
  }
  return ext;
}

/**
 * Encodes a tar header block plus the padded data of one regular file.
 *
 * @internal
 */
export function tarFileBlock(path: string, data: Uint8Array): Buffer {
  const header = new Header({
    path,
    mode: 0o644,
    size: data.length,
    mtime: new Date(0),
    type: 'File',
    uid: 0,
    gid: 0,
  });
  const block = Buffer.alloc(512);
  header.encode(block, 0);
  const padded = Buffer.alloc(Math.ceil(data.length / 512) * 512);
  padded.set(data, 0);
  return Buffer.concat([block, padded]);
}

/**
 * Finds where the tar stream's end-of-archive marker starts (the offset after the last member).
 *
 * @internal
 */
export function tarEndOffset(tar: Buffer): number {
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const block = tar.subarray(offset, offset + 512);
    if (block.every((b) => b === 0)) return offset;
    const header = new Header(block);
    if (!header.cksumValid) {
      throw new PlumblineError('PLB_BCA_CORRUPT', 'a tar header has a bad checksum');
    }
    const size = header.size ?? 0;
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  throw new PlumblineError('PLB_BCA_TRUNCATED', 'the tar stream has no end-of-archive marker');
}

/**
 * Inflates a `.bca` whose members were read within limits, refusing a gzip stream that inflates
 * far beyond them (trailing data no loader reads) before it is held in memory.
 *
 * @internal
 */
export function inflateBca(
  file: string,
  compressed: Uint8Array,
  members: BcaArtifact['members'],
): Buffer {
  // The members' padded bytes, one header (and at most a long name) each, end-of-archive padding.
  const maxTarBytes =
    members.reduce((n, m) => n + 512 + Math.ceil(m.size / 512) * 512 + 8192, 0) + 1024 * 1024;
  try {
    return gunzipSync(compressed, { maxOutputLength: maxTarBytes });
  } catch (error) {
    throw new PlumblineError(
      'PLB_BCA_TOO_LARGE',
      `${file} inflates to more than its members account for (${maxTarBytes} bytes)`,
      { cause: error, details: { limit: maxTarBytes } },
    );
  }
}

/**
 * Writes a Plumbline provenance header for a Barbacane `.bca`: inputs are the embedded specs,
 * plugins, compiled routes (and WAF rules), the payload is the `.bca` file itself, provenance
 * comes from the options and the manifest (Barbacane's own fields are kept in the
 * `dev.barbacane.artifact` extension). `sidecar` writes the encoded header next to the file;
 * `embed` writes a copy of the archive with the header as the extra member
 * `plumbline/header.cbor`, which Barbacane's loaders ignore (they read members by exact name or
 * under `specs/`, `plugins/` and `waf/`). The original archive bytes are kept unchanged in the
 * copy; only the member and a new end-of-archive marker are appended.
 *
 * @example
 * ```ts
 * const { output } = await sealBca('gateway.bca', {
 *   mode: 'embed',
 *   source: 'acme/gateway-config',
 *   builder: { id: 'ci/github-actions', version: '1' },
 * });
 * ```
 * @throws PlumblineError every code of {@link readBca}; `PLB_BCA_CHECKSUM_MISMATCH` when the
 *   archive does not match its own checksums; `PLB_BCA_ALREADY_SEALED` when it already holds a
 *   header member; `PLB_PROVENANCE_INVALID` for bad provenance options; `PLB_BCA_WRITE`.
 * @public
 */
export async function sealBca(file: string, options: SealBcaOptions): Promise<SealBcaResult> {
  const bca = await readBca(file, options.read);
  if (!bca.checksumsOk) {
    const bad = bca.checksums.filter((c) => c.status !== 'ok').map((c) => c.path);
    throw new PlumblineError(
      'PLB_BCA_CHECKSUM_MISMATCH',
      `the archive does not match its manifest's checksums (${bad.slice(0, 5).join(', ')})`,
      { details: { paths: bad.slice(0, 50) } },
    );
  }
  const own = barbacaneArtifactHash(bca);
  if (own.recomputable && !own.matches) {
    throw new PlumblineError(
      'PLB_BCA_CHECKSUM_MISMATCH',
      `the manifest's artifact_hash ${own.declared} is not Barbacane's hash of it (${own.computed})`,
      { details: { declared: own.declared, computed: own.computed } },
    );
  }
  if (bca.members.some((m) => m.path === BCA_HEADER_MEMBER)) {
    throw new PlumblineError(
      'PLB_BCA_ALREADY_SEALED',
      `${file} already holds ${BCA_HEADER_MEMBER}`,
    );
  }
  const tar = options.mode === 'embed' ? inflateBca(file, await readFile(file), bca.members) : null;
  const end = tar === null ? 0 : tarEndOffset(tar);
  const tarInfo =
    tar === null
      ? null
      : {
          digest: `sha256:${createHash('sha256').update(tar.subarray(0, end)).digest('hex')}`,
          size: end,
        };
  const header = createHeader({
    manifest: bcaSealInputs(bca),
    payload: { digest: bca.digest, size: bca.size, media_type: BCA_MEDIA_TYPE },
    provenance: sealProvenance(bca, options),
    extensions: { 'dev.barbacane.artifact': barbacaneExtension(bca, tarInfo) },
    buildTimestamp: options.buildTimestamp ?? bca.manifest.compiled_at,
    sourceDateEpoch:
      options.sourceDateEpoch === undefined
        ? process.env['SOURCE_DATE_EPOCH']
        : options.sourceDateEpoch,
  });
  const encoded = encodeHeader(header);
  if (tar === null) {
    const output = options.output ?? `${file}${BCA_SIDECAR_SUFFIX}`;
    await writeAtomic(output, encoded);
    return { header, encoded, output, mode: 'sidecar' };
  }
  const output = options.output ?? file.replace(/(\.bca)?$/, '.sealed.bca');
  const sealed = Buffer.concat([
    tar.subarray(0, end),
    tarFileBlock(BCA_HEADER_MEMBER, encoded),
    Buffer.alloc(1024),
  ]);
  await writeAtomic(output, gzipSync(sealed));
  return { header, encoded, output, mode: 'embed' };
}

function sealProvenance(
  bca: BcaArtifact,
  options: SealBcaOptions,
): CreateHeaderOptions['provenance'] {
  const m = bca.manifest as Record<string, unknown>;
  const manifestCommit = ((m['provenance'] ?? {}) as { commit?: string | null }).commit;
  const commit =
    options.commit ??
    (typeof manifestCommit === 'string' &&
    /^([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/.test(manifestCommit)
      ? manifestCommit
      : undefined);
  return {
    builder: options.builder ?? { id: 'barbacane', version: bca.manifest.compiler_version },
    ...(commit === undefined ? {} : { commit }),
    ...(options.source === undefined ? {} : { source: options.source }),
    ...(options.ref === undefined ? {} : { ref: options.ref }),
    ...(options.buildUrl === undefined ? {} : { build_url: options.buildUrl }),
  };
}

async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(path, bytes);
  } catch (error) {
    throw new PlumblineError('PLB_BCA_WRITE', `cannot write ${path}`, { cause: error });
  }
}

/**
 * Where a `.bca`'s Plumbline header was found.
 *
 * @public
 */
export interface BcaSeal {
  /** The decoded Plumbline header. */
  readonly header: ProvenanceHeader;
  /**
   * `embedded` when read from the {@link BCA_HEADER_MEMBER} member, `sidecar` when read from
   * `<file>.plumbline`.
   */
  readonly source: 'embedded' | 'sidecar';
  /** The sidecar path when `source` is `sidecar`. */
  readonly path?: string;
}

/**
 * Finds the Plumbline header of a read `.bca`: the embedded member first, then the sidecar
 * `<file>.plumbline`. Returns `null` when there is neither (an unsealed artifact).
 *
 * @example
 * ```ts
 * const seal = await findBcaSeal('gateway.bca', await readBca('gateway.bca'));
 * ```
 * @throws PlumblineError `PLB_HEADER_*` codes when a header is present but cannot be decoded;
 *   `PLB_BCA_TOO_LARGE` for a sidecar above {@link MAX_BCA_HEADER_BYTES}.
 * @public
 */
export async function findBcaSeal(
  file: string,
  bca: Pick<BcaArtifact, 'members'>,
): Promise<BcaSeal | null> {
  const member = bca.members.find((m) => m.path === BCA_HEADER_MEMBER && m.type === 'file');
  if (member !== undefined) {
    return {
      header: decodeHeader(member.bytes, { maxHeaderBytes: MAX_BCA_HEADER_BYTES }),
      source: 'embedded',
    };
  }
  const path = `${file}${BCA_SIDECAR_SUFFIX}`;
  let info;
  try {
    info = await stat(path);
  } catch {
    return null;
  }
  if (info.size > MAX_BCA_HEADER_BYTES) {
    throw new PlumblineError('PLB_BCA_TOO_LARGE', `${path} is larger than a header can be`);
  }
  const bytes = await readFile(path);
  return {
    header: decodeHeader(bytes, { maxHeaderBytes: MAX_BCA_HEADER_BYTES }),
    source: 'sidecar',
    path,
  };
}
