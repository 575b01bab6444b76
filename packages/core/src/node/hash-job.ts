/**
 * What the calling thread and the hashing workers share: the status codes of a file and the
 * messages they exchange (see `hash-workers.ts` and `hash-worker.ts`).
 *
 * @internal
 * @packageDocumentation
 */

/** A worker hashed the file: size, digest and leaf hash are in the job's arrays. @internal */
export const FILE_HASHED = 1;
/** A worker claimed the file but could not hash it whole: the calling thread must. @internal */
export const FILE_RETURNED = 2;

/**
 * A set of files to hash, with the shared memory the results go to (index `i` of each array is
 * file `i`): control (a claim counter and a stop flag, two 32-bit integers), progress (files and
 * bytes), sizes, digests, leaf hashes, statuses.
 *
 * @internal
 */
export interface HashJobMessage {
  readonly id: number;
  /** Absolute paths to read. */
  readonly paths: readonly string[];
  /** Manifest paths, for the leaf hashes. */
  readonly names: readonly string[];
  readonly control: SharedArrayBuffer;
  readonly progress: SharedArrayBuffer;
  readonly sizes: SharedArrayBuffer;
  readonly digests: SharedArrayBuffer;
  readonly leaves: SharedArrayBuffer;
  readonly state: SharedArrayBuffer;
}

/** A request for the RFC 9162 root over leaf hashes (32 bytes each, in order). @internal */
export interface RootMessage {
  readonly id: number;
  readonly root: ArrayBuffer;
}
