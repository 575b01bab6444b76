import { closeSync, constants, fstatSync, openSync, read, readSync } from 'node:fs';
import { PlumblineError } from '../errors.js';
import type { Sha256Hasher } from '../hash/backend.js';
import { createSha256, sha256Into } from '../hash/select.js';
import { alignedBytes } from './aligned-bytes.js';

/** Size of one read. Files up to this size are hashed with one synchronous read loop. */
export const READ_CHUNK = 1024 * 1024;

/** The digest and size of a file. @internal */
export interface FileDigest {
  /** The 32 raw SHA-256 bytes. */
  readonly digest: Uint8Array;
  readonly size: number;
}

/**
 * A file whose first chunk was hashed synchronously and whose rest still has to be streamed.
 *
 * @internal
 */
export interface PendingFile {
  readonly fd: number;
  readonly hasher: Sha256Hasher;
  readonly offset: number;
}

// O_NONBLOCK keeps a FIFO swapped in after the walk from blocking the open; regular files ignore it.
const NOFOLLOW = (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** Wraps a file-system error as a coded error naming the manifest path. @internal */
export function readError(path: string, cause: unknown): PlumblineError {
  const errno = (cause as { code?: unknown }).code;
  return new PlumblineError(
    'PLB_INPUT_READ',
    `cannot read input ${JSON.stringify(path)}${typeof errno === 'string' ? ` (${errno})` : ''}`,
    { cause, details: { path, ...(typeof errno === 'string' ? { errno } : {}) } },
  );
}

/**
 * Opens a regular file without following a final symbolic link and hashes it synchronously up to
 * one chunk, reusing `buffer`. Small files (the usual configuration input) finish here with one
 * open, fstat, read and close and a one-shot hash, with no thread-pool round trip: the digest is
 * written into `digestOut` at `at` and the file's size returned. Larger ones come back as a
 * {@link PendingFile} to stream.
 *
 * @internal
 */
export function hashFileStart(
  absolutePath: string,
  manifestPath: string,
  buffer: Uint8Array,
  digestOut: Uint8Array = new Uint8Array(32),
  at = 0,
): number | PendingFile {
  let fd: number;
  try {
    fd = openSync(absolutePath, constants.O_RDONLY | NOFOLLOW);
  } catch (cause) {
    throw readError(manifestPath, cause);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      throw new PlumblineError(
        'PLB_INPUT_UNSUPPORTED',
        `input ${JSON.stringify(manifestPath)} is not a regular file`,
        { details: { path: manifestPath } },
      );
    }
    let offset = 0;
    // Fill the buffer once. Reading exactly the size fstat reported, or reaching end of file,
    // means the file was small: hash it in one shot.
    while (offset < buffer.length) {
      const n = readSync(fd, buffer, offset, buffer.length - offset, offset);
      offset += n;
      if (n === 0 || (offset === stat.size && offset < buffer.length)) {
        closeSync(fd);
        sha256Into(buffer.subarray(0, offset), digestOut, at);
        return offset;
      }
    }
    return { fd, hasher: createSha256().update(buffer), offset };
  } catch (error) {
    closeQuietly(fd);
    throw PlumblineError.is(error) ? error : readError(manifestPath, error);
  }
}

function readAt(fd: number, buffer: Uint8Array, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, 0, buffer.length, position, (error, bytesRead) => {
      if (error) reject(error);
      else resolve(bytesRead);
    });
  });
}

/**
 * Streams the rest of a {@link PendingFile} with two alternating buffers of {@link READ_CHUNK} bytes
 * (the next read runs in the thread pool while the current chunk is hashed), so memory per file is
 * two chunks whatever its size. Closes the file descriptor in every case, with no read left in
 * flight, so the caller may reuse `buffers` once it settles.
 *
 * @internal
 */
export async function hashFileRest(
  pending: PendingFile,
  manifestPath: string,
  signal: AbortSignal | undefined,
  buffers: readonly [Uint8Array, Uint8Array] = [alignedBytes(READ_CHUNK), alignedBytes(READ_CHUNK)],
): Promise<FileDigest> {
  const { fd, hasher } = pending;
  let position = pending.offset;
  let which = 0;
  try {
    let next = readAt(fd, buffers[0], position);
    for (;;) {
      const n = await next;
      if (n === 0) break;
      const current = buffers[which]!;
      position += n;
      which ^= 1;
      if (signal?.aborted) break;
      next = readAt(fd, buffers[which]!, position);
      hasher.update(n === current.length ? current : current.subarray(0, n));
    }
  } catch (cause) {
    throw readError(manifestPath, cause);
  } finally {
    closeQuietly(fd);
  }
  throwIfAborted(signal);
  return { digest: hasher.digest(), size: position };
}

/**
 * Reads the rest of a {@link PendingFile} synchronously into `buffer` and hashes it, one chunk per
 * step: each step yields the number of bytes just hashed. At end of file the digest is written into
 * `digestOut` at `at` and the generator ends. The file descriptor is closed when it ends, throws or
 * is left early (`break` out of a `for…of` closes it too), so a caller that stops reading loses
 * nothing but the file. Read errors are thrown as they come (the caller names the path).
 *
 * Without thread-pool round trips, this is what a thread that hashes whole files one after another
 * uses (a worker, or the calling thread while it shares files with workers): when every core is
 * busy hashing, a read handed to the thread pool waits for a core, and the hashing thread waits
 * for the read (docs/benchmarks.md).
 *
 * @internal
 */
export function* hashFileRestSync(
  pending: PendingFile,
  buffer: Uint8Array,
  digestOut: Uint8Array,
  at: number,
): Generator<number, void, undefined> {
  const { fd, hasher } = pending;
  let offset = pending.offset;
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, offset);
      if (n === 0) {
        digestOut.set(hasher.digest(), at);
        return;
      }
      hasher.update(n === buffer.length ? buffer : buffer.subarray(0, n));
      offset += n;
      yield n;
    }
  } finally {
    closeQuietly(fd);
  }
}

/** Throws `PLB_ABORTED` when the signal has fired. @internal */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new PlumblineError('PLB_ABORTED', 'building the manifest was aborted', {
      cause: signal.reason,
    });
  }
}

/** Closes a read-only descriptor; a failure to close cannot lose data, so it is not reported. */
function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed or invalid: nothing was written through it.
  }
}

/** A reusable buffer for {@link entryLeafHash}'s leaf input. @internal */
export interface LeafScratch {
  bytes: Uint8Array;
}

const encoder = new TextEncoder();

/**
 * The RFC 9162 leaf hash of one manifest entry — `SHA-256(0x00 || digest || UTF-8 path)`, as
 * `leafHash` of the merkle module computes it over the entry's leaf input — of the digest at
 * `digests[at…at+32]`, written into `out` at `outAt`. Built in `scratch`: no per-entry allocation.
 *
 * @internal
 */
export function entryLeafHashInto(
  digests: Uint8Array,
  at: number,
  path: string,
  scratch: LeafScratch,
  out: Uint8Array,
  outAt: number,
): void {
  const need = 33 + path.length * 3;
  if (scratch.bytes.length < need) scratch.bytes = new Uint8Array(need * 2);
  const input = scratch.bytes;
  input[0] = 0x00;
  input.set(digests.subarray(at, at + 32), 1);
  const written = encoder.encodeInto(path, input.subarray(33)).written;
  sha256Into(input.subarray(0, 33 + written), out, outAt);
}
