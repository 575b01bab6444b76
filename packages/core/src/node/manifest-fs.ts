import picomatch from 'picomatch';
import { PlumblineError } from '../errors.js';
import { formatDigest } from '../hash/digest.js';
import { leafHash } from '../merkle/hashes.js';
import { rootFromLeafHashes } from '../merkle/tree.js';
import {
  MANIFEST_FORMAT,
  type InputRole,
  type Manifest,
  type ManifestEntry,
} from '../manifest/types.js';
import {
  hashFileRest,
  hashFileStart,
  READ_CHUNK,
  throwIfAborted,
  type FileDigest,
} from './hash-file.js';
import { mediaTypeOf } from './media-type.js';
import { walkInputs } from './walk-inputs.js';
import { SmallFileWorkers } from './hash-workers.js';
import { getHashBackend } from '../hash/select.js';

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
  /** Largest number of files streamed at once (files above 1 MiB). Default 4. */
  readonly concurrency?: number;
  /** Largest number of entries. Default 1,000,000. */
  readonly maxEntries?: number;
  /**
   * Worker threads that hash small files alongside the calling thread, for trees of 2,000 files
   * or more. Default: one less than the available cores, at most 3. `0` hashes on the calling
   * thread only. Workers are used only with the `node:crypto` hash backend.
   */
  readonly workers?: number;
  /** Whether to set `media_type` from the file extension (default `true`). */
  readonly mediaTypes?: boolean;
  /** Aborts the walk and the hashing; the promise rejects with `PLB_ABORTED`. */
  readonly signal?: AbortSignal;
  /** Called as files are found and hashed. Exceptions it throws abort the build. */
  readonly onProgress?: (progress: ManifestProgress) => void;
}

/** Files per batch between yields to the event loop (and per worker message). */
const BATCH = 256;
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
    return [picomatch(glob, { dot: true }), role] as const;
  });
  return (path) => matchers.find(([match]) => match(path))?.[1];
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new PlumblineError('PLB_INVALID_OPTION', `option ${name} must be a positive integer`, {
      details: { option: name },
    });
  }
  return v;
}

/**
 * Builds the manifest of a gateway configuration's inputs from the file system: walks directories
 * and files, applies the path rules of DESIGN.md, hashes every file (small files with a synchronous
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
  const concurrency = positiveInteger('concurrency', options.concurrency, 4);
  const maxEntries = positiveInteger('maxEntries', options.maxEntries, 1_000_000);
  if (
    options.workers !== undefined &&
    (!Number.isSafeInteger(options.workers) || options.workers < 0)
  ) {
    throw new PlumblineError(
      'PLB_INVALID_OPTION',
      'option workers must be a non-negative integer',
      {
        details: { option: 'workers' },
      },
    );
  }
  const roleOf = compileRoles(options.roles);
  const caseCollisions = options.caseCollisions ?? 'error';
  const { signal, onProgress } = options;
  throwIfAborted(signal);

  const { files } = await walkInputs(inputs, {
    cwd: options.cwd ?? process.cwd(),
    base: options.base,
    include: options.include ?? [],
    exclude: options.exclude ?? [],
    followSymlinks: options.followSymlinks ?? true,
    caseCollisions,
    maxEntries,
    signal,
    ...(onProgress
      ? {
          onFound: (found: number) =>
            onProgress({ phase: 'walk', files: found, totalFiles: 0, bytes: 0 }),
        }
      : {}),
  });

  // Streams in flight stop early when the caller aborts or another file fails.
  const internal = new AbortController();
  const forward = (): void => internal.abort(signal?.reason);
  signal?.addEventListener('abort', forward, { once: true });
  const digests: (FileDigest | undefined)[] = new Array<FileDigest | undefined>(files.length);
  const inflight = new Set<Promise<void>>();
  let firstError: unknown;
  let done = 0;
  let bytes = 0;
  const record = (index: number, result: FileDigest): void => {
    digests[index] = result;
    done++;
    bytes += result.size;
    onProgress?.({ phase: 'hash', files: done, totalFiles: files.length, bytes });
  };
  const buffer = new Uint8Array(READ_CHUNK);
  /** Hashes file `i` on this thread: small files at once, larger ones streamed (bounded). */
  const hashHere = async (i: number): Promise<void> => {
    const file = files[i]!;
    const started = hashFileStart(file.absolutePath, file.path, buffer);
    if ('digest' in started) {
      record(i, started);
      return;
    }
    while (inflight.size >= concurrency) await Promise.race(inflight);
    const task: Promise<void> = hashFileRest(started, file.path, internal.signal)
      .then((result) => record(i, result))
      .catch((error: unknown) => {
        firstError ??= error;
        internal.abort();
      })
      .finally(() => inflight.delete(task));
    inflight.add(task);
  };
  const fail = (error: unknown): void => {
    firstError ??= error;
    internal.abort();
  };
  const workerCount =
    files.length >= WORKER_MIN_FILES && getHashBackend().name === 'node:crypto'
      ? (options.workers ?? SmallFileWorkers.defaultCount())
      : 0;
  const pool = workerCount > 0 ? new SmallFileWorkers(workerCount) : undefined;
  const batches = new Set<Promise<void>>();
  try {
    for (let start = 0; start < files.length && firstError === undefined; start += BATCH) {
      throwIfAborted(internal.signal);
      const end = Math.min(start + BATCH, files.length);
      if (pool?.hasIdle) {
        // A worker hashes this batch while this thread goes on with the next one.
        const first = start;
        const hereFrom = async (from: number): Promise<void> => {
          for (let i = from; i < end && !internal.signal.aborted; i++) await hashHere(i);
        };
        const batch: Promise<void> = pool
          .hash(files.slice(start, end).map((f) => f.absolutePath))
          .then(
            async (result) => {
              for (let k = 0; k < end - first && !internal.signal.aborted; k++) {
                if (result.done[k] === 1) {
                  record(first + k, {
                    digest: result.digests.subarray(k * 32, k * 32 + 32),
                    size: result.sizes[k]!,
                  });
                } else {
                  await hashHere(first + k);
                }
              }
            },
            // A worker that failed leaves its batch to this thread.
            () => hereFrom(first),
          )
          .catch(fail)
          .finally(() => batches.delete(batch));
        batches.add(batch);
      } else {
        for (let i = start; i < end && firstError === undefined; i++) await hashHere(i);
      }
      // Lets worker answers, stream reads, progress and abort signals through.
      await new Promise((r) => setImmediate(r));
    }
  } catch (error) {
    fail(error);
  } finally {
    await Promise.all(batches);
    await Promise.all(inflight);
    await pool?.close();
    signal?.removeEventListener('abort', forward);
  }
  if (firstError !== undefined) {
    // A caller's abort wins over the aborted reads it caused.
    throwIfAborted(signal);
    throw firstError;
  }
  throwIfAborted(signal);

  const detectMedia = options.mediaTypes ?? true;
  // The walk already validated every path and refused duplicates and collisions, and the digests
  // come from hashing: sort by UTF-8 bytes and compute the root directly from the raw digests.
  const rows = files.map((file, i) => ({
    file,
    bytes: Buffer.from(file.path, 'utf8'),
    result: digests[i]!,
  }));
  rows.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  const leafHashes: Uint8Array[] = new Array<Uint8Array>(rows.length);
  const entries: ManifestEntry[] = new Array<ManifestEntry>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const { file, bytes, result } = rows[i]!;
    const leafInput = new Uint8Array(32 + bytes.length);
    leafInput.set(result.digest, 0);
    leafInput.set(bytes, 32);
    leafHashes[i] = leafHash(leafInput);
    const role = roleOf(file.path);
    const mediaType = detectMedia ? mediaTypeOf(file.path) : undefined;
    entries[i] = {
      path: file.path,
      size: result.size,
      digest: `sha256:${Buffer.from(result.digest.buffer, result.digest.byteOffset, 32).toString('hex')}`,
      ...(role === undefined ? {} : { role }),
      ...(mediaType === undefined ? {} : { media_type: mediaType }),
    };
  }
  return {
    format: MANIFEST_FORMAT,
    hash_alg: 'sha256',
    root: formatDigest(rootFromLeafHashes(leafHashes)),
    entries,
  };
}
