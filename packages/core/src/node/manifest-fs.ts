import { statSync } from 'node:fs';
import { PlumblineError } from '../errors.js';
import { formatDigest, type DigestString } from '../hash/digest.js';
import { limitOption } from '../limit-option.js';
import { rootOfPackedLeaves } from '../merkle/tree.js';
import {
  MANIFEST_FORMAT,
  type InputRole,
  type Manifest,
  type ManifestEntry,
} from '../manifest/types.js';
import {
  entryLeafHashInto,
  hashFileRest,
  hashFileRestSync,
  hashFileStart,
  READ_CHUNK,
  readError,
  throwIfAborted,
  type LeafScratch,
  type PendingFile,
} from './hash-file.js';
import { markChecked } from '../manifest/checked.js';
import { mediaTypeOf } from './media-type.js';
import { walkInputs, type WalkedFile } from './walk-inputs.js';
import { HashWorkers, type SharedHashJob } from './hash-workers.js';
import { alignedBytes } from './aligned-bytes.js';
import { compileGlobs } from './globs.js';
import { FILE_HASHED } from './hash-job.js';
import { getHashBackend } from '../hash/select.js';
import { CHUNKS_PER_TURN, nextTurn } from './next-turn.js';

/**
 * Progress of {@link buildManifest}, reported while it walks and while it hashes.
 *
 * @public
 */
export interface ManifestProgress {
  /** `walk` while listing files, `hash` while hashing them. */
  readonly phase: 'walk' | 'hash';
  /** Files found (walk) or hashed (hash) so far. */
  readonly files: number;
  /** Number of files to hash (known once the walk is done; 0 during the walk). */
  readonly totalFiles: number;
  /** Bytes hashed so far. */
  readonly bytes: number;
}

/**
 * Options for {@link buildManifest}.
 *
 * @public
 */
export interface BuildManifestOptions {
  /**
   * The directory entry paths are relative to. Default: the input itself when the only input is a
   * directory, otherwise `cwd`.
   */
  readonly base?: string;
  /** Directory relative inputs and `base` are resolved from. Default `process.cwd()`. */
  readonly cwd?: string;
  /** Globs (picomatch, dotfiles match) over manifest paths; when given, only matching files are inputs. */
  readonly include?: readonly string[];
  /** Globs over manifest paths of files to leave out. A pattern `dir/**` skips the directory whole. */
  readonly exclude?: readonly string[];
  /** Role of each file by glob over its manifest path, in order: the first matching glob wins. */
  readonly roles?: Readonly<Record<string, InputRole>> | readonly (readonly [string, InputRole])[];
  /**
   * Whether symbolic links that stay inside the base are hashed as their target's bytes under the
   * link's path (default `true`). Links that leave the base are always an error; with `false`
   * every link is an error.
   */
  readonly followSymlinks?: boolean;
  /** `'error'` (default) refuses two paths that differ only by case; `'allow'` keeps both. */
  readonly caseCollisions?: 'error' | 'allow';
  /**
   * Largest number of files (above 1 MiB) streamed at once by the calling thread while it hashes
   * alone. Default 4. Beside worker threads, each thread reads one file at a time.
   */
  readonly concurrency?: number;
  /** Largest number of entries. Default 1,000,000. */
  readonly maxEntries?: number;
  /**
   * Worker threads that hash files alongside the calling thread, for trees of 2,000 files or
   * more (they start once the walk has found that many and hash what it found while it goes on,
   * then share the rest with the calling thread file by file, and compute the root) and for
   * smaller trees with at least two files of 16 MiB or more (each thread hashes whole files).
   * Default: one less than the available cores, at most 3. `0` hashes on the calling thread only.
   * Workers are used only with the `node:crypto` hash backend.
   */
  readonly workers?: number;
  /** Whether to set `media_type` from the file extension (default `true`). */
  readonly mediaTypes?: boolean;
  /** Aborts the walk and the hashing; the promise rejects with `PLB_ABORTED`. */
  readonly signal?: AbortSignal;
  /** Called as files are found and hashed. Exceptions it throws abort the build. */
  readonly onProgress?: (progress: ManifestProgress) => void;
}

/** Files this thread hashes between two turns of the event loop. */
const YIELD_EVERY = 256;
/** Trees smaller than this are hashed on the calling thread only. */
const WORKER_MIN_FILES = 2000;

function compileRoles(
  roles: BuildManifestOptions['roles'],
): (path: string) => InputRole | undefined {
  if (roles === undefined) return () => undefined;
  const pairs = Array.isArray(roles)
    ? (roles as readonly (readonly [string, InputRole])[])
    : Object.entries(roles as Readonly<Record<string, InputRole>>);
  const valid = new Set<string>(['spec', 'config', 'plugin', 'other']);
  const matchers = pairs.map(([glob, role]) => {
    if (!valid.has(role)) {
      throw new PlumblineError(
        'PLB_INVALID_OPTION',
        `role ${JSON.stringify(role)} for ${JSON.stringify(glob)} is not spec, config, plugin or other`,
        {
          details: { option: 'roles', glob },
        },
      );
    }
    return [compileGlobs(glob), role] as const;
  });
  return (path) => matchers.find(([match]) => match(path))?.[1];
}

/**
 * Builds the manifest of a gateway configuration's inputs from the file system: walks directories
 * and files, applies the path rules of docs/formats.md, hashes every file (small files with a synchronous
 * read loop, larger ones streamed in 1 MiB chunks, so memory stays flat for any file size) and
 * computes the Merkle root.
 *
 * @example
 * ```ts
 * import { buildManifest } from '@plumbline/core/node';
 * const manifest = await buildManifest(['gateway/'], {
 *   exclude: ['**\/*.md'],
 *   roles: { 'specs/**': 'spec', '**\/*.wasm': 'plugin', '**': 'config' },
 * });
 * console.log(manifest.root);
 * ```
 * @throws {@link PlumblineError} `PLB_INPUT_MISSING`, `PLB_PATH_ESCAPE`, `PLB_PATH_SYMLINK_ESCAPE`,
 *   `PLB_PATH_SYMLINK`, `PLB_PATH_SYMLINK_BROKEN`, `PLB_PATH_SYMLINK_LOOP`, `PLB_PATH_INVALID`,
 *   `PLB_PATH_INVALID_UTF8`, `PLB_PATH_NFC_COLLISION`, `PLB_PATH_CASE_COLLISION`,
 *   `PLB_PATH_DUPLICATE`, `PLB_INPUT_UNSUPPORTED`, `PLB_INPUT_READ`, `PLB_LIMIT_ENTRIES`,
 *   `PLB_INVALID_OPTION`, `PLB_ABORTED`. Each names the offending path in `details.path`.
 * @public
 */
export async function buildManifest(
  inputs: readonly string[],
  options: BuildManifestOptions = {},
): Promise<Manifest> {
  const roleOf = compileRoles(options.roles);
  const detectMedia = options.mediaTypes ?? true;
  return walkAndHash(inputs, options, (files, hashed, pool) =>
    assemble(files, hashed, roleOf, detectMedia, pool),
  );
}

/**
 * The Merkle root {@link buildManifest} would give for the same inputs and options, without
 * building the manifest's entries (for a caller that prints only the root).
 *
 * @internal
 */
export async function buildManifestRoot(
  inputs: readonly string[],
  options: BuildManifestOptions = {},
): Promise<DigestString> {
  // Roles do not enter the root, but are checked as buildManifest checks them.
  compileRoles(options.roles);
  return walkAndHash(inputs, options, async (files, hashed, pool) => {
    const sortedLeaves = inManifestOrder(hashed, manifestOrder(files), false).sortedLeaves;
    return formatDigest(await rootOf(sortedLeaves, pool));
  });
}

/**
 * Walks and hashes the inputs (the work {@link buildManifest} and {@link buildManifestRoot} share),
 * then gives the files, their hashes and the worker pool (still open) to `finish`.
 */
async function walkAndHash<T>(
  inputs: readonly string[],
  options: BuildManifestOptions,
  finish: (
    files: readonly WalkedFile[],
    hashed: HashedFiles,
    pool: HashWorkers | undefined,
  ) => Promise<T>,
): Promise<T> {
  const concurrency = limitOption(options.concurrency, {
    name: 'concurrency',
    code: 'PLB_INVALID_OPTION',
    fallback: 4,
  });
  const maxEntries = limitOption(options.maxEntries, {
    name: 'maxEntries',
    code: 'PLB_INVALID_OPTION',
    fallback: 1_000_000,
  });
  if (options.workers !== undefined)
    limitOption(options.workers, { name: 'workers', code: 'PLB_INVALID_OPTION', min: 0 });
  const caseCollisions = options.caseCollisions ?? 'error';
  const { signal, onProgress } = options;
  throwIfAborted(signal);

  // Workers start as soon as the walk has found enough files and hash what it has found so far
  // while it goes on; the rest is shared between them and this thread once the walk is done.
  let workersWanted =
    getHashBackend().name === 'node:crypto' ? (options.workers ?? HashWorkers.defaultCount()) : 0;
  let pool: HashWorkers | undefined;
  const startPool = (): void => {
    if (pool !== undefined || workersWanted === 0) return;
    try {
      pool = new HashWorkers(workersWanted);
    } catch {
      // No threads to be had (a resource limit): hash on this thread alone.
      workersWanted = 0;
    }
  };
  const segments: Segment[] = [];
  let covered = 0;
  const hand = (files: readonly WalkedFile[], to: number): void => {
    if (pool === undefined || to <= covered) return;
    const part = files.slice(covered, to);
    segments.push({
      from: covered,
      to,
      job: pool.start(
        part.map((f) => f.absolutePath),
        part.map((f) => f.path),
      ),
    });
    covered = to;
  };
  try {
    const { files } = await walkInputs(inputs, {
      cwd: options.cwd ?? process.cwd(),
      base: options.base,
      include: options.include ?? [],
      exclude: options.exclude ?? [],
      followSymlinks: options.followSymlinks ?? true,
      caseCollisions,
      maxEntries,
      signal,
      onFound: (found, sofar) => {
        if (found >= WORKER_MIN_FILES) startPool();
        hand(sofar, found);
        onProgress?.({ phase: 'walk', files: found, totalFiles: 0, bytes: 0 });
      },
    });
    // A few large files: each thread hashes whole files, so they are hashed side by side.
    if (files.length < WORKER_MIN_FILES && largeFiles(files) >= 2) startPool();
    hand(files, files.length);
    if (covered < files.length) segments.push({ from: covered, to: files.length });
    const hashed = await hashFiles(files, segments, { concurrency, signal, onProgress });
    return await finish(files, hashed, pool);
  } catch (error) {
    for (const segment of segments) segment.job?.stop();
    throw error;
  } finally {
    await pool?.close();
  }
}

/** Files at least this large are worth a worker thread even when there are few files. */
const WORKER_MIN_BYTES = 16 * 1024 * 1024;

/** How many of (fewer than {@link WORKER_MIN_FILES}) files are {@link WORKER_MIN_BYTES} or larger. */
function largeFiles(files: readonly WalkedFile[]): number {
  let large = 0;
  for (const file of files) {
    try {
      if (statSync(file.absolutePath).size >= WORKER_MIN_BYTES) large++;
    } catch {
      // Reported with its manifest path when it is hashed.
    }
  }
  return large;
}

/** Files `from` to `to` (exclusive) of the walk, shared with the workers when `job` is set. */
interface Segment {
  readonly from: number;
  readonly to: number;
  readonly job?: SharedHashJob;
}

/** The hashes of the walked files, file `i` at index `i` (32 bytes each in the byte arrays). */
interface HashedFiles {
  readonly sizes: Float64Array;
  /** The raw SHA-256 digest of each file. */
  readonly digests: Uint8Array;
  /** RFC 9162 leaf hash of each file (its digest and manifest path). */
  readonly leaves: Uint8Array;
}

interface HashFilesOptions {
  readonly concurrency: number;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: ((progress: ManifestProgress) => void) | undefined;
}

/** The state of one {@link hashFiles} call, shared by its steps. */
interface HashRun extends HashedFiles {
  /** Files this thread claimed (it hashes them, or streams them, itself). */
  readonly mine: Uint8Array;
  /** Stops streams in flight when the caller aborts or another file fails. */
  readonly internal: AbortController;
  readonly inflight: Set<Promise<void>>;
  /** The first failure; once set, no more files are started. */
  firstError: unknown;
  /**
   * Hashes file `i` on this thread: a small file at once (returns `undefined`), a larger one
   * streamed in the background, at most `concurrency` at a time (returns a promise to wait for
   * before starting another when that many are in flight). With `whole` (sharing files with
   * workers), a larger one is read synchronously to its end and the file's own promise returned.
   */
  hashHere(i: number, whole?: boolean): Promise<unknown> | undefined;
  fail(error: unknown): void;
  /** Reports hashing progress: this thread's files and bytes plus the workers'. */
  report(): void;
}

function startHashRun(
  files: readonly WalkedFile[],
  jobs: readonly SharedHashJob[],
  options: HashFilesOptions,
): HashRun {
  const { concurrency, onProgress } = options;
  const n = files.length;
  let done = 0;
  let bytes = 0;
  const leafInput: LeafScratch = { bytes: new Uint8Array(1024) };
  const buffer = alignedBytes(READ_CHUNK);
  // Buffer pairs of streams that ended, for the next stream (at most `concurrency` run at once).
  const spare: (readonly [Uint8Array, Uint8Array])[] = [];
  const run: HashRun = {
    // One array each for all files (not an object per file): less for the garbage collector.
    sizes: new Float64Array(n),
    digests: new Uint8Array(n * 32),
    leaves: new Uint8Array(n * 32),
    mine: new Uint8Array(n),
    internal: new AbortController(),
    inflight: new Set<Promise<void>>(),
    firstError: undefined,
    report: () => {
      if (onProgress === undefined) return;
      let hashedFiles = done;
      let hashedBytes = bytes;
      for (const job of jobs) {
        const theirs = job.progress;
        hashedFiles += theirs.files;
        hashedBytes += theirs.bytes;
      }
      onProgress({ phase: 'hash', files: hashedFiles, totalFiles: n, bytes: hashedBytes });
    },
    fail: (error) => {
      run.firstError ??= error;
      run.internal.abort();
      for (const job of jobs) job.stop();
    },
    hashHere: (i, whole = false) => {
      const file = files[i]!;
      const started = hashFileStart(file.absolutePath, file.path, buffer, run.digests, i * 32);
      if (typeof started === 'number') {
        record(i, started);
        return undefined;
      }
      const buffers = spare.pop() ?? [alignedBytes(READ_CHUNK), alignedBytes(READ_CHUNK)];
      const rest = whole
        ? hashWholeHere(started, file.path, run.internal.signal, buffers[0], run.digests, i * 32)
        : hashFileRest(started, file.path, run.internal.signal, buffers).then((result) => {
            run.digests.set(result.digest, i * 32);
            return result.size;
          });
      const task: Promise<void> = rest
        .then((size) => record(i, size))
        .catch(run.fail)
        .finally(() => {
          spare.push(buffers);
          run.inflight.delete(task);
        });
      run.inflight.add(task);
      if (whole) return task;
      return run.inflight.size >= concurrency ? Promise.race(run.inflight) : undefined;
    },
  };
  /** Records file `index` of `size` bytes, whose digest is in `run.digests` already. */
  const record = (index: number, size: number): void => {
    run.sizes[index] = size;
    entryLeafHashInto(
      run.digests,
      index * 32,
      files[index]!.path,
      leafInput,
      run.leaves,
      index * 32,
    );
    done++;
    bytes += size;
    // Reported every REPORT_EVERY small files (one call per file costs more than hashing a
    // 4 KiB file) and after every file of REPORT_BYTES or more.
    if (done % REPORT_EVERY === 0 || size >= REPORT_BYTES) run.report();
  };
  return run;
}

/**
 * Hashes the rest of a large file with synchronous reads (see {@link hashFileRestSync}), the way
 * the calling thread hashes while it shares files with workers: with every core hashing, a read
 * handed to the thread pool waits for a core and this thread waits for the read (it spent most of
 * a 128 MiB file idle). Lets the event loop turn every {@link CHUNKS_PER_TURN} chunks. Writes the
 * digest into `digests` at `at` and returns the file's size.
 */
async function hashWholeHere(
  started: PendingFile,
  path: string,
  signal: AbortSignal,
  buffer: Uint8Array,
  digests: Uint8Array,
  at: number,
): Promise<number> {
  let size = started.offset;
  let chunks = 0;
  try {
    for (const n of hashFileRestSync(started, buffer, digests, at)) {
      size += n;
      if (++chunks % CHUNKS_PER_TURN === 0) {
        await nextTurn();
        if (signal.aborted) break;
      }
    }
  } catch (cause) {
    throw readError(path, cause);
  }
  throwIfAborted(signal);
  return size;
}

/** Claims files segment by segment (from the shared counter where workers share it) and hashes them. */
async function hashOwnShare(run: HashRun, segments: readonly Segment[]): Promise<void> {
  let sinceYield = 0;
  for (const { from, to, job } of segments) {
    let next = from;
    for (;;) {
      const i = job === undefined ? next++ : from + job.claim();
      if (i >= to || run.firstError !== undefined) break;
      run.mine[i] = 1;
      throwIfAborted(run.internal.signal);
      // Sharing with workers, a large file is finished before the next is claimed, so the
      // workers get their share of the large files.
      const full = run.hashHere(i, job !== undefined);
      if (full !== undefined) await full;
      if (++sinceYield === YIELD_EVERY) {
        sinceYield = 0;
        // Lets stream reads, progress and abort signals through.
        await nextTurn();
      }
    }
    if (run.firstError !== undefined) break;
  }
}

/** Waits for the workers and takes the files they hashed; hashes the ones they handed back. */
async function takeWorkersShare(run: HashRun, segments: readonly Segment[]): Promise<void> {
  for (const { from, to, job } of segments) {
    if (job === undefined) continue;
    await job.finished;
    for (let i = from; i < to && run.firstError === undefined; i++) {
      if (run.mine[i] === 1) continue;
      if (job.status(i - from) === FILE_HASHED) {
        run.sizes[i] = job.copyResult(i - from, run.digests, run.leaves, i * 32);
      } else if (!run.internal.signal.aborted) {
        try {
          const full = run.hashHere(i);
          if (full !== undefined) await full;
        } catch (error) {
          run.fail(error);
        }
      }
    }
  }
}

/**
 * Hashes every walked file: small ones at once on this thread and, with a pool, on the workers
 * too (both claim files from one shared counter); larger ones streamed, `concurrency` at a time.
 */
async function hashFiles(
  files: readonly WalkedFile[],
  segments: readonly Segment[],
  options: HashFilesOptions,
): Promise<HashedFiles> {
  const { signal } = options;
  const jobs = segments.flatMap((s) => (s.job === undefined ? [] : [s.job]));
  const run = startHashRun(files, jobs, options);
  // Stops streams in flight and the workers (a worker leaves a large file at its next read).
  const forward = (): void => run.fail(signal?.reason);
  signal?.addEventListener('abort', forward, { once: true });
  try {
    await hashOwnShare(run, segments);
  } catch (error) {
    run.fail(error);
  } finally {
    await takeWorkersShare(run, segments);
    await Promise.all(run.inflight);
    signal?.removeEventListener('abort', forward);
  }
  if (run.firstError !== undefined) {
    // A caller's abort wins over the aborted reads it caused.
    throwIfAborted(signal);
    throw run.firstError;
  }
  throwIfAborted(signal);
  run.report();
  return { sizes: run.sizes, digests: run.digests, leaves: run.leaves };
}

/**
 * Sorts the hashed files into manifest order and computes the root (on a worker, when there is
 * one, while this thread builds the entries).
 */
async function assemble(
  files: readonly WalkedFile[],
  hashed: HashedFiles,
  roleOf: (path: string) => InputRole | undefined,
  detectMedia: boolean,
  pool: HashWorkers | undefined,
): Promise<Manifest> {
  // The walk already validated every path and refused duplicates and collisions, and the digests
  // come from hashing: sort by UTF-8 bytes and compute the root directly from the leaf hashes.
  const n = files.length;
  const order = manifestOrder(files);
  const { sortedLeaves, raw } = inManifestOrder(hashed, order, true);
  // Computed on a worker, when there is one, while this thread builds the entries.
  const root = rootOf(sortedLeaves, pool);
  // All digests in hex at once: one native call instead of one per entry.
  const hex = raw.toString('hex');
  const entries = new Array<ManifestEntry>(n);
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const path = files[i]!.path;
    const entry: { -readonly [K in keyof ManifestEntry]: ManifestEntry[K] } = {
      path,
      size: hashed.sizes[i]!,
      digest: `sha256:${hex.slice(k * 64, k * 64 + 64)}`,
    };
    const role = roleOf(path);
    if (role !== undefined) entry.role = role;
    const mediaType = detectMedia ? mediaTypeOf(path) : undefined;
    if (mediaType !== undefined) entry.media_type = mediaType;
    entries[k] = entry;
  }
  return markChecked({
    format: MANIFEST_FORMAT,
    hash_alg: 'sha256',
    root: formatDigest(await root),
    entries,
  });
}

/** The indexes of `files` in manifest order: by the UTF-8 bytes of their paths. */
function manifestOrder(files: readonly WalkedFile[]): number[] {
  const order = files.map((_, i) => i);
  // Below U+D800, UTF-16 code unit order is UTF-8 byte order: plain string comparison suffices.
  if (files.every((f) => !SURROGATE_OR_ABOVE.test(f.path))) {
    order.sort((a, b) => (files[a]!.path < files[b]!.path ? -1 : 1));
  } else {
    const bytes = files.map((f) => Buffer.from(f.path, 'utf8'));
    order.sort((a, b) => Buffer.compare(bytes[a]!, bytes[b]!));
  }
  return order;
}

/**
 * The root over leaf hashes in manifest order, computed by a worker when there is one and the tree
 * is large enough (this thread is free meanwhile), else here.
 */
async function rootOf(
  sortedLeaves: Uint8Array<ArrayBuffer>,
  pool: HashWorkers | undefined,
): Promise<Uint8Array> {
  const remote =
    pool !== undefined && sortedLeaves.length >= WORKER_MIN_FILES * 32
      ? await pool.root(sortedLeaves.slice())
      : undefined;
  return remote ?? rootOfPackedLeaves(sortedLeaves);
}

/**
 * The leaf hashes and (with `digests`) the digests in manifest order (`order`), each in one
 * buffer, copied four bytes at a time (a native copy call per entry costs more than the copy).
 */
function inManifestOrder(
  hashed: HashedFiles,
  order: readonly number[],
  digests: boolean,
): { sortedLeaves: Uint8Array<ArrayBuffer>; raw: Buffer } {
  const n = order.length;
  const sortedLeaves = new Uint8Array(n * 32);
  const raw = Buffer.alloc(digests ? n * 32 : 0);
  const leavesFrom = new Int32Array(hashed.leaves.buffer, hashed.leaves.byteOffset, n * 8);
  const leavesTo = new Int32Array(sortedLeaves.buffer, 0, n * 8);
  for (let k = 0; k < n; k++) {
    const from = order[k]! * 8;
    for (let w = 0; w < 8; w++) leavesTo[k * 8 + w] = leavesFrom[from + w]!;
  }
  if (digests) {
    const digestsFrom = new Int32Array(hashed.digests.buffer, hashed.digests.byteOffset, n * 8);
    const digestsTo = new Int32Array(raw.buffer, raw.byteOffset, n * 8);
    for (let k = 0; k < n; k++) {
      const from = order[k]! * 8;
      for (let w = 0; w < 8; w++) digestsTo[k * 8 + w] = digestsFrom[from + w]!;
    }
  }
  return { sortedLeaves, raw };
}

const SURROGATE_OR_ABOVE = /[\uD800-\uFFFF]/;
const REPORT_EVERY = 64;
const REPORT_BYTES = 1024 * 1024;
