/**
 * Streaming, bounded reader of Barbacane `.bca` artifacts (gzip-compressed tar).
 *
 * @packageDocumentation
 */
import { PlumblineError } from '@plumbline/core';
import type { DigestString } from '@plumbline/core/hash';
import { manifestFromEntries, type Manifest, type ManifestEntry } from '@plumbline/core/manifest';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Parser, type ReadEntry } from 'tar';
import { parseBarbacaneManifest, type BarbacaneManifest } from './schema.js';

/**
 * Limits of {@link readBca}. Every limit is checked before the bytes it guards are buffered.
 *
 * @public
 */
export interface BcaLimits {
  /** Most members (files and directories) in the archive. Default 10,000. */
  readonly maxEntries?: number;
  /** Largest member, in bytes. Default 64 MiB. */
  readonly maxEntryBytes?: number;
  /** Largest sum of member sizes (uncompressed), in bytes. Default 256 MiB. */
  readonly maxTotalBytes?: number;
  /** Largest `.bca` file (compressed), in bytes. Default 256 MiB. */
  readonly maxFileBytes?: number;
  /** Largest `manifest.json`, in bytes. Default 4 MiB. */
  readonly maxManifestBytes?: number;
}

/** Default limits of {@link readBca}. @public */
export const DEFAULT_BCA_LIMITS: Required<BcaLimits> = Object.freeze({
  maxEntries: 10_000,
  maxEntryBytes: 64 * 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
  maxFileBytes: 256 * 1024 * 1024,
  maxManifestBytes: 4 * 1024 * 1024,
});

/**
 * Options of {@link readBca}.
 *
 * @public
 */
export interface ReadBcaOptions {
  /** Size limits. */
  readonly limits?: BcaLimits;
  /** Aborts the read. */
  readonly signal?: AbortSignal;
}

/** One member of the archive, in archive order. @public */
export interface BcaMember {
  /** The path as stored in the archive (`specs/api.yaml`); directories end without `/`. */
  readonly path: string;
  /** Whether the member is a regular file or a directory (links and other types are refused). */
  readonly type: 'file' | 'directory';
  /** The member's size (uncompressed) in bytes; 0 for directories. */
  readonly size: number;
  /** The member's bytes (empty for directories). */
  readonly bytes: Uint8Array;
  /** `sha256:` digest of the bytes. */
  readonly digest: DigestString;
}

/** The result of checking one checksum the manifest lists. @public */
export interface BcaChecksumResult {
  /** Member path checked. */
  readonly path: string;
  /** Where the manifest lists it: `checksums`, `source_specs` or `plugins`. */
  readonly listed_in: 'checksums' | 'source_specs' | 'plugins';
  /** The digest the manifest lists for the member, as a `sha256:<hex>` digest. */
  readonly expected: DigestString;
  /** The member's digest, `null` when the member is missing. */
  readonly actual: DigestString | null;
  /**
   * `ok` when `actual` equals `expected`, `mismatch` when it differs, `missing` when the archive
   * has no file member at `path`.
   */
  readonly status: 'ok' | 'mismatch' | 'missing';
}

/**
 * A `.bca` artifact as read by {@link readBca}.
 *
 * @public
 */
export interface BcaArtifact {
  /** Size of the `.bca` file in bytes. */
  readonly size: number;
  /** SHA-256 of the `.bca` file (compressed bytes). */
  readonly digest: DigestString;
  /** The parsed `manifest.json`. */
  readonly manifest: BarbacaneManifest;
  /** The artifact version (`manifest.barbacane_artifact_version`). */
  readonly version: number;
  /** The raw bytes of `manifest.json`. */
  readonly manifestBytes: Uint8Array;
  /** Every member, in archive order. */
  readonly members: readonly BcaMember[];
  /**
   * The embedded specs (`specs/…`, role `spec`) and plugins (`plugins/…`, role `plugin`) as a
   * Plumbline manifest, with paths as in the archive.
   */
  readonly inputs: Manifest;
  /** Every checksum the manifest lists, checked against the archive's bytes. */
  readonly checksums: readonly BcaChecksumResult[];
  /** Whether every listed checksum matched. */
  readonly checksumsOk: boolean;
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

function limitsOf(limits: BcaLimits | undefined): Required<BcaLimits> {
  const out = { ...DEFAULT_BCA_LIMITS, ...limits };
  for (const [key, value] of Object.entries(out)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new PlumblineError('PLB_USAGE', `limit ${key} must be a non-negative integer`);
    }
  }
  return out;
}

function digestOf(bytes: Uint8Array): DigestString {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}` as DigestString;
}

/**
 * Checks a member path: relative, `/`-separated, no empty, `.` or `..` segments, no NUL or
 * backslash. A single leading `./` is accepted and removed. Returns the path without a trailing
 * `/`.
 *
 * @internal
 */
export function checkMemberPath(raw: string): string {
  let path = raw.startsWith('./') ? raw.slice(2) : raw;
  if (path.endsWith('/')) path = path.slice(0, -1);
  const bad =
    path.length === 0 ||
    path.length > 4096 ||
    path.startsWith('/') ||
    path.includes('\\') ||
    path.includes('\0') ||
    /^[A-Za-z]:/.test(path) ||
    path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..');
  if (bad) {
    throw new PlumblineError(
      'PLB_BCA_PATH_ESCAPE',
      `archive member path ${JSON.stringify(raw.slice(0, 200))} is absolute, empty or leaves the archive`,
      { details: { path: raw.slice(0, 200) } },
    );
  }
  return path;
}

function roleOf(path: string): NonNullable<ManifestEntry['role']> | null {
  if (path.startsWith('specs/')) return 'spec';
  if (path.startsWith('plugins/')) return 'plugin';
  return null;
}

function mediaTypeOf(path: string): string {
  if (path.endsWith('.wasm')) return 'application/wasm';
  if (path.endsWith('.json')) return 'application/json';
  if (path.endsWith('.yaml') || path.endsWith('.yml')) return 'application/yaml';
  return 'application/octet-stream';
}

/**
 * Builds a Plumbline manifest from members, keeping those `select` returns a role for.
 *
 * @internal
 */
export function manifestOfMembers(
  members: readonly BcaMember[],
  select: (path: string) => NonNullable<ManifestEntry['role']> | null,
): Manifest {
  const entries: ManifestEntry[] = [];
  for (const member of members) {
    if (member.type !== 'file') continue;
    const role = select(member.path);
    if (role === null) continue;
    entries.push({
      path: member.path,
      size: member.size,
      digest: member.digest,
      role,
      media_type: mediaTypeOf(member.path),
    });
  }
  return manifestFromEntries(entries, { caseCollisions: 'allow', maxEntries: members.length + 1 });
}

async function readMembers(
  file: string,
  limits: Required<BcaLimits>,
  signal: AbortSignal | undefined,
): Promise<{ members: BcaMember[]; size: number; digest: DigestString }> {
  signal?.throwIfAborted();
  let info;
  try {
    info = await stat(file);
  } catch (error) {
    throw new PlumblineError('PLB_BCA_READ', `cannot read ${file}`, { cause: error });
  }
  if (!info.isFile()) throw new PlumblineError('PLB_BCA_READ', `${file} is not a regular file`);
  if (info.size > limits.maxFileBytes) {
    throw new PlumblineError(
      'PLB_BCA_TOO_LARGE',
      `${file} is ${info.size} bytes, more than the limit of ${limits.maxFileBytes}`,
      { details: { size: info.size, limit: limits.maxFileBytes } },
    );
  }
  return new Promise((resolvePromise, rejectPromise) => {
    const members: BcaMember[] = [];
    const seen = new Set<string>();
    const fileHash = createHash('sha256');
    let total = 0;
    let failed = false;
    let sawEntry = false;
    const stream = createReadStream(file);
    const parser = new Parser({ strict: true });
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      stream.destroy();
      signal?.removeEventListener('abort', onAbort);
      rejectPromise(
        PlumblineError.is(error)
          ? error
          : new PlumblineError(
              'PLB_BCA_CORRUPT',
              `${file} is not a readable gzip-compressed tar archive`,
              { cause: error },
            ),
      );
    };
    const onAbort = (): void => fail(new PlumblineError('PLB_ABORTED', 'reading was aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    parser.on('entry', (entry: ReadEntry) => {
      if (failed) {
        entry.resume();
        return;
      }
      sawEntry = true;
      try {
        if (members.length + 1 > limits.maxEntries) {
          throw new PlumblineError(
            'PLB_BCA_TOO_MANY_ENTRIES',
            `the archive has more than ${limits.maxEntries} members`,
            { details: { limit: limits.maxEntries } },
          );
        }
        if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
          throw new PlumblineError(
            'PLB_BCA_LINK_ENTRY',
            `archive member ${JSON.stringify(entry.path.slice(0, 200))} is a link; links are refused`,
            { details: { path: entry.path.slice(0, 200), type: entry.type } },
          );
        }
        const isDir = entry.type === 'Directory';
        if (!isDir && !FILE_TYPES.has(entry.type)) {
          throw new PlumblineError(
            'PLB_BCA_ENTRY_TYPE',
            `archive member ${JSON.stringify(entry.path.slice(0, 200))} is a ${entry.type}; only files and directories are allowed`,
            { details: { path: entry.path.slice(0, 200), type: entry.type } },
          );
        }
        const path = checkMemberPath(entry.path);
        if (seen.has(path)) {
          throw new PlumblineError(
            'PLB_BCA_DUPLICATE_ENTRY',
            `archive member ${JSON.stringify(path.slice(0, 200))} appears twice`,
            { details: { path: path.slice(0, 200) } },
          );
        }
        seen.add(path);
        const size = isDir ? 0 : entry.size;
        const limit = path === 'manifest.json' ? limits.maxManifestBytes : limits.maxEntryBytes;
        if (size > limit) {
          throw new PlumblineError(
            'PLB_BCA_ENTRY_TOO_LARGE',
            `archive member ${JSON.stringify(path.slice(0, 200))} is ${size} bytes, more than the limit of ${limit}`,
            { details: { path: path.slice(0, 200), size, limit } },
          );
        }
        total += size;
        if (total > limits.maxTotalBytes) {
          throw new PlumblineError(
            'PLB_BCA_TOO_LARGE',
            `the archive's members add up to more than ${limits.maxTotalBytes} bytes`,
            { details: { limit: limits.maxTotalBytes } },
          );
        }
        const bytes = new Uint8Array(size);
        let offset = 0;
        entry.on('data', (chunk: Buffer) => {
          if (failed) return;
          if (offset + chunk.length > size) {
            fail(new PlumblineError('PLB_BCA_CORRUPT', 'a member holds more bytes than its size'));
            return;
          }
          bytes.set(chunk, offset);
          offset += chunk.length;
        });
        entry.on('end', () => {
          if (failed) return;
          if (offset !== size) {
            fail(
              new PlumblineError(
                'PLB_BCA_TRUNCATED',
                `archive member ${JSON.stringify(path.slice(0, 200))} is truncated`,
              ),
            );
            return;
          }
          members.push({
            path,
            type: isDir ? 'directory' : 'file',
            size,
            bytes,
            digest: digestOf(bytes),
          });
        });
      } catch (error) {
        entry.resume();
        fail(error);
      }
    });
    parser.on('warn', (code: string, message: string | Error) => {
      const text = typeof message === 'string' ? message : message.message;
      fail(new PlumblineError('PLB_BCA_CORRUPT', `${file}: ${code}: ${text.slice(0, 200)}`));
    });
    parser.on('error', (error: unknown) => fail(error));
    parser.on('abort', (error: unknown) => fail(error));
    parser.on('end', () => {
      if (failed) return;
      signal?.removeEventListener('abort', onAbort);
      if (!sawEntry) {
        fail(new PlumblineError('PLB_BCA_CORRUPT', `${file} holds no archive members`));
        return;
      }
      const pending = members.length !== seen.size;
      if (pending) {
        fail(new PlumblineError('PLB_BCA_TRUNCATED', `${file} ends inside a member`));
        return;
      }
      resolvePromise({
        members,
        size: info.size,
        digest: `sha256:${fileHash.digest('hex')}` as DigestString,
      });
    });
    stream.on('error', (error) =>
      fail(new PlumblineError('PLB_BCA_READ', `cannot read ${file}`, { cause: error })),
    );
    stream.on('data', (chunk) => {
      fileHash.update(chunk as Buffer);
      if (!failed) parser.write(chunk as Buffer);
    });
    stream.on('end', () => {
      if (!failed) parser.end();
    });
  });
}

function checkChecksums(
  manifest: BarbacaneManifest,
  members: readonly BcaMember[],
): BcaChecksumResult[] {
  const byPath = new Map<string, BcaMember>();
  for (const member of members) if (member.type === 'file') byPath.set(member.path, member);
  const results: BcaChecksumResult[] = [];
  const check = (
    path: string,
    expected: DigestString,
    listed_in: BcaChecksumResult['listed_in'],
  ): void => {
    const member = byPath.get(path);
    const actual = member?.digest ?? null;
    results.push({
      path,
      listed_in,
      expected,
      actual,
      status: actual === null ? 'missing' : actual === expected ? 'ok' : 'mismatch',
    });
  };
  for (const [path, value] of Object.entries(manifest.checksums)) {
    check(path, value as DigestString, 'checksums');
  }
  for (const spec of manifest.source_specs) {
    // The compiler stores each spec under specs/<file name>.
    const name = spec.file.split('/').pop() ?? spec.file;
    check(`specs/${name}`, `sha256:${spec.sha256}` as DigestString, 'source_specs');
  }
  for (const plugin of manifest.plugins) {
    check(plugin.wasm_path, `sha256:${plugin.sha256}` as DigestString, 'plugins');
  }
  return results;
}

/**
 * Reads a Barbacane `.bca` artifact: streams the gzip-compressed tar with limits, parses
 * `manifest.json` with the schema of its artifact version, builds a Plumbline manifest of the
 * embedded specs and plugins, and checks every checksum the manifest lists against the bytes.
 * A checksum mismatch is reported in the result (`checksumsOk: false`), not thrown.
 *
 * @example
 * ```ts
 * const bca = await readBca('gateway.bca');
 * if (!bca.checksumsOk) console.error(bca.checksums.filter((c) => c.status !== 'ok'));
 * console.log(bca.manifest.artifact_hash, bca.inputs.root);
 * ```
 * @throws PlumblineError `PLB_BCA_READ`, `PLB_BCA_CORRUPT`, `PLB_BCA_TRUNCATED`,
 *   `PLB_BCA_TOO_LARGE`, `PLB_BCA_TOO_MANY_ENTRIES`, `PLB_BCA_ENTRY_TOO_LARGE`,
 *   `PLB_BCA_PATH_ESCAPE`, `PLB_BCA_LINK_ENTRY`, `PLB_BCA_ENTRY_TYPE`, `PLB_BCA_DUPLICATE_ENTRY`,
 *   `PLB_BCA_NO_MANIFEST`, `PLB_BCA_MANIFEST_INVALID`, `PLB_BCA_UNSUPPORTED_VERSION`, `PLB_ABORTED`.
 * @public
 */
export async function readBca(file: string, options: ReadBcaOptions = {}): Promise<BcaArtifact> {
  const limits = limitsOf(options.limits);
  const { members, size, digest } = await readMembers(file, limits, options.signal);
  const manifestMember = members.find((m) => m.path === 'manifest.json' && m.type === 'file');
  if (manifestMember === undefined) {
    throw new PlumblineError('PLB_BCA_NO_MANIFEST', `${file} has no manifest.json member`);
  }
  const manifest = parseBarbacaneManifest(manifestMember.bytes);
  const checksums = checkChecksums(manifest, members);
  return {
    size,
    digest,
    manifest,
    version: manifest.barbacane_artifact_version,
    manifestBytes: manifestMember.bytes,
    members,
    inputs: manifestOfMembers(members, roleOf),
    checksums,
    checksumsOk: checksums.every((c) => c.status === 'ok'),
  };
}
