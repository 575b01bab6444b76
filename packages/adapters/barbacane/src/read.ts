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
import { parseBarbacaneManifest, type BarbacaneManifest } from './schema.js';
import { OneGzipMember } from './gzip.js';
import { TarWalker, type TarMemberHeader } from './tar.js';

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
  /** The path as stored in the archive (`specs/api.yaml`). */
  readonly path: string;
  /**
   * Always `file`: Barbacane's compiler writes only regular files, and every other tar entry
   * type (directories, links, devices, sparse files, …) is refused.
   */
  readonly type: 'file';
  /** The member's size (uncompressed) in bytes. */
  readonly size: number;
  /** The member's bytes. */
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
  // A later member of one path wins, as in Barbacane's `load_specs` (a `HashMap` insert).
  const last = new Map<string, BcaMember>();
  for (const member of members) last.set(member.path, member);
  const entries: ManifestEntry[] = [];
  for (const member of last.values()) {
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

/** Checks one member header against the limits and the paths seen, before its bytes arrive. */
function admitMember(
  header: TarMemberHeader,
  state: { count: number; total: number; seen: Set<string> },
  limits: Required<BcaLimits>,
): string {
  if (state.count + 1 > limits.maxEntries) {
    throw new PlumblineError(
      'PLB_BCA_TOO_MANY_ENTRIES',
      `the archive has more than ${limits.maxEntries} members`,
      { details: { limit: limits.maxEntries } },
    );
  }
  const path = checkMemberPath(header.path);
  // Two members of one path: Barbacane's compiler writes two `specs/<name>` when two specs share
  // a file name (their source_specs are paired in order by checkChecksums); any other path
  // twice is refused, as loaders would disagree on which one counts.
  if (state.seen.has(path) && !path.startsWith('specs/')) {
    throw new PlumblineError(
      'PLB_BCA_DUPLICATE_ENTRY',
      `archive member ${JSON.stringify(path.slice(0, 200))} appears twice`,
      { details: { path: path.slice(0, 200) } },
    );
  }
  state.seen.add(path);
  const limit = path === 'manifest.json' ? limits.maxManifestBytes : limits.maxEntryBytes;
  if (header.size > limit) {
    throw new PlumblineError(
      'PLB_BCA_ENTRY_TOO_LARGE',
      `archive member ${JSON.stringify(path.slice(0, 200))} is ${header.size} bytes, more than the limit of ${limit}`,
      { details: { path: path.slice(0, 200), size: header.size, limit } },
    );
  }
  state.total += header.size;
  if (state.total > limits.maxTotalBytes) {
    throw new PlumblineError(
      'PLB_BCA_TOO_LARGE',
      `the archive's members add up to more than ${limits.maxTotalBytes} bytes`,
      { details: { limit: limits.maxTotalBytes } },
    );
  }
  state.count += 1;
  return path;
}

async function statBca(file: string, limits: Required<BcaLimits>): Promise<number> {
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
  return info.size;
}

/** The tar walker that collects each admitted member's bytes into `members`. */
function memberWalker(
  members: BcaMember[],
  state: { count: number; total: number; seen: Set<string> },
  limits: Required<BcaLimits>,
  digestBefore: string | undefined,
): TarWalker {
  let current: { path: string; bytes: Uint8Array } | null = null;
  return new TarWalker(
    {
      member: (header) => {
        const path = admitMember(header, state, limits);
        current = { path, bytes: new Uint8Array(header.size) };
        return current.bytes;
      },
      memberEnd: () => {
        if (current === null) return;
        const { path, bytes } = current;
        members.push({ path, type: 'file', size: bytes.length, bytes, digest: digestOf(bytes) });
        current = null;
      },
    },
    digestBefore === undefined ? {} : { digestBefore },
  );
}

/** A failure while reading `file`, as the coded error the caller gets. */
function asReadError(file: string, error: unknown): PlumblineError {
  return PlumblineError.is(error)
    ? error
    : new PlumblineError(
        'PLB_BCA_CORRUPT',
        `${file} is not a readable gzip-compressed tar archive`,
        {
          cause: error,
        },
      );
}

interface ReadMembersResult {
  members: BcaMember[];
  size: number;
  digest: DigestString;
  prefix: { digest: string; size: number } | null;
}

async function readMembers(
  file: string,
  limits: Required<BcaLimits>,
  signal: AbortSignal | undefined,
  digestBefore: string | undefined,
): Promise<ReadMembersResult> {
  signal?.throwIfAborted();
  const size = await statBca(file, limits);
  // What the members read so far account for: their bytes, each one's header, padding and GNU
  // long name, the end marker and GNU tar's record padding, and the chunk in flight. Zeros
  // inflated beyond that are refused, not walked.
  const maxInflated = (s: { total: number; count: number }): number =>
    s.total + (s.count + 1) * 6144 + 2 * 1024 * 1024;
  return new Promise((resolvePromise, rejectPromise) => {
    const members: BcaMember[] = [];
    const state = { count: 0, total: 0, seen: new Set<string>() };
    const fileHash = createHash('sha256');
    let inflated = 0;
    let failed = false;
    // The file's one gzip member, as Barbacane's GzDecoder reads it (nothing may follow it).
    const gzip = new OneGzipMember(file, size, 64 * 1024);
    const gunzip = gzip.inflate;
    const stream = createReadStream(file);
    // Both the inflater and the file must have ended before the member is checked.
    let ends = 0;
    const walker = memberWalker(members, state, limits, digestBefore);
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      stream.destroy();
      gunzip.destroy();
      signal?.removeEventListener('abort', onAbort);
      rejectPromise(asReadError(file, error));
    };
    const onAbort = (): void => fail(new PlumblineError('PLB_ABORTED', 'reading was aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    gunzip.on('data', (chunk: Buffer) => {
      if (failed) return;
      inflated += chunk.length;
      try {
        walker.push(chunk);
        if (inflated > maxInflated(state)) {
          throw new PlumblineError(
            'PLB_BCA_TOO_LARGE',
            `${file} inflates to more than its members account for`,
            { details: { inflated, limit: maxInflated(state) } },
          );
        }
      } catch (error) {
        fail(error);
      }
    });
    gunzip.on('error', (error) => fail(error));
    const finish = (): void => {
      if (failed || ++ends < 2) return;
      try {
        gzip.check();
        walker.end();
      } catch (error) {
        fail(error);
        return;
      }
      if (members.length === 0) {
        fail(new PlumblineError('PLB_BCA_CORRUPT', `${file} holds no archive members`));
        return;
      }
      signal?.removeEventListener('abort', onAbort);
      resolvePromise({
        members,
        size,
        digest: `sha256:${fileHash.digest('hex')}` as DigestString,
        prefix: walker.prefix,
      });
    };
    gunzip.on('end', () => {
      // The member ended: the rest of the file is only read (and counted), never inflated.
      stream.resume();
      finish();
    });
    stream.on('error', (error) =>
      fail(new PlumblineError('PLB_BCA_READ', `cannot read ${file}`, { cause: error })),
    );
    // A slow consumer pauses the file instead of queueing it whole in the inflater.
    gunzip.on('drain', () => stream.resume());
    stream.on('data', (chunk) => {
      if (failed) return;
      fileHash.update(chunk as Buffer);
      try {
        if (!gzip.write(chunk as Buffer)) stream.pause();
      } catch (error) {
        fail(error);
      }
    });
    stream.on('end', () => {
      if (failed) return;
      try {
        gzip.end();
      } catch (error) {
        fail(error);
        return;
      }
      finish();
    });
  });
}

/**
 * Pairs the `specs/<name>` members with the source specs of that file name, in order: the
 * compiler writes the specs in input order under their base name and sorts `source_specs` by file
 * name (a stable sort), so two specs that share a name are two members in the order of their
 * entries. A path held by more members than source specs is refused: Barbacane's `load_specs`
 * keeps the last one, which no checksum would then cover.
 */
function specMembers(
  manifest: BarbacaneManifest,
  members: readonly BcaMember[],
): Map<string, BcaMember[]> {
  const byPath = new Map<string, BcaMember[]>();
  for (const member of members) {
    if (!member.path.startsWith('specs/')) continue;
    byPath.set(member.path, [...(byPath.get(member.path) ?? []), member]);
  }
  const listed = new Map<string, number>();
  for (const spec of manifest.source_specs) {
    const path = `specs/${spec.file.split('/').pop() ?? spec.file}`;
    listed.set(path, (listed.get(path) ?? 0) + 1);
  }
  for (const [path, list] of byPath) {
    if (list.length > 1 && list.length !== (listed.get(path) ?? 0)) {
      throw new PlumblineError(
        'PLB_BCA_DUPLICATE_ENTRY',
        `archive member ${JSON.stringify(path.slice(0, 200))} appears ${list.length} times but the manifest lists ${listed.get(path) ?? 0} source specs of that name; Barbacane would serve the last one`,
        { details: { path: path.slice(0, 200), members: list.length } },
      );
    }
  }
  return byPath;
}

function checkChecksums(
  manifest: BarbacaneManifest,
  members: readonly BcaMember[],
): BcaChecksumResult[] {
  const byPath = new Map<string, BcaMember>();
  for (const member of members) byPath.set(member.path, member);
  const specs = specMembers(manifest, members);
  const results: BcaChecksumResult[] = [];
  const check = (
    path: string,
    expected: DigestString,
    listed_in: BcaChecksumResult['listed_in'],
    member: BcaMember | undefined,
  ): void => {
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
    check(path, value as DigestString, 'checksums', byPath.get(path));
  }
  const taken = new Map<string, number>();
  for (const spec of manifest.source_specs) {
    // The compiler stores each spec under specs/<file name>.
    const path = `specs/${spec.file.split('/').pop() ?? spec.file}`;
    const index = taken.get(path) ?? 0;
    taken.set(path, index + 1);
    const member = specs.get(path)?.[index];
    check(path, `sha256:${spec.sha256}` as DigestString, 'source_specs', member);
  }
  for (const plugin of manifest.plugins) {
    const member = byPath.get(plugin.wasm_path);
    check(plugin.wasm_path, `sha256:${plugin.sha256}` as DigestString, 'plugins', member);
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
  return (await readBcaArchive(file, options)).bca;
}

/**
 * {@link readBca}, also returning the SHA-256 and length of the tar stream before the last member
 * named `digestBefore` (hashed while the archive streams), `null` when there is no such member.
 *
 * @internal
 */
export async function readBcaArchive(
  file: string,
  options: ReadBcaOptions = {},
  digestBefore?: string,
): Promise<{ bca: BcaArtifact; prefix: { digest: string; size: number } | null }> {
  const limits = limitsOf(options.limits);
  const { members, size, digest, prefix } = await readMembers(
    file,
    limits,
    options.signal,
    digestBefore,
  );
  const manifestMember = members.find((m) => m.path === 'manifest.json');
  if (manifestMember === undefined) {
    throw new PlumblineError('PLB_BCA_NO_MANIFEST', `${file} has no manifest.json member`);
  }
  const manifest = parseBarbacaneManifest(manifestMember.bytes);
  const checksums = checkChecksums(manifest, members);
  const bca: BcaArtifact = {
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
  return { bca, prefix };
}
