/**
 * The hashing worker thread's module (started by `hash-workers.ts`; built as its own file,
 * `dist/hash-worker.cjs`, next to the code that starts it). It hashes files with the same
 * functions as the calling thread — {@link hashFileStart}, {@link hashFileRestSync},
 * {@link entryLeafHashInto} and the Merkle module's root — so there is one implementation of each.
 *
 * Files are claimed one at a time from a counter shared with the calling thread, so every thread
 * stays busy to the end without waiting for another's messages. A file the worker cannot hash
 * (unreadable, not a regular file) is marked for the calling thread,
 * which hashes it again and reports the error, if any, with the file's manifest path.
 *
 * @internal
 * @packageDocumentation
 */
import { parentPort } from 'node:worker_threads';
import { rootOfPackedLeaves } from '../merkle/tree.js';
import {
  entryLeafHashInto,
  hashFileRestSync,
  hashFileStart,
  READ_CHUNK,
  type LeafScratch,
} from './hash-file.js';
import { FILE_HASHED, FILE_RETURNED, type HashJobMessage, type RootMessage } from './hash-job.js';
import { alignedBytes } from './aligned-bytes.js';

const buffer = alignedBytes(READ_CHUNK);
const scratch: LeafScratch = { bytes: new Uint8Array(4096) };

/** A job's shared counters, as this worker reads and updates them. */
interface JobState {
  /** [next file to claim, stopped (1 once the caller stopped the job)]. */
  readonly control: Int32Array;
  /** [files hashed, bytes hashed] by the workers so far. */
  readonly hashed: BigInt64Array;
}

/**
 * Size of a regular file, its digest written into `digests` at `at`; or `undefined` to hand it
 * back (it could not be read, or the job was stopped while it was read). A file larger than one
 * read is read on in this thread (blocking only this worker) one chunk at a time. Its bytes are
 * added to the job's progress as they are hashed, and taken back out if it is handed back.
 */
function hashOne(path: string, digests: Uint8Array, at: number, job: JobState): number | undefined {
  let counted = 0;
  const count = (bytes: number): void => {
    Atomics.add(job.hashed, 1, BigInt(bytes));
    counted += bytes;
  };
  try {
    const started = hashFileStart(path, path, buffer, digests, at);
    if (typeof started === 'number') {
      count(started);
      return started;
    }
    let size = started.offset;
    count(size);
    // Read on until the end, unless the caller stops the job first (leaving the loop closes the file).
    let stopped = false;
    for (const n of hashFileRestSync(started, buffer, digests, at)) {
      stopped = Atomics.load(job.control, 1) !== 0;
      if (stopped) break;
      size += n;
      count(n);
    }
    if (!stopped) return size;
  } catch {
    // Unreadable: handed back below, for the calling thread to report.
  }
  if (counted > 0) Atomics.sub(job.hashed, 1, BigInt(counted));
  return undefined;
}

function hashJob(message: HashJobMessage): void {
  const job: JobState = {
    control: new Int32Array(message.control),
    hashed: new BigInt64Array(message.progress),
  };
  const sizes = new Float64Array(message.sizes);
  const digests = new Uint8Array(message.digests);
  const leaves = new Uint8Array(message.leaves);
  const status = new Int32Array(message.state);
  const { paths, names } = message;
  for (;;) {
    const i = Atomics.add(job.control, 0, 1);
    if (i >= paths.length) break;
    const size = hashOne(paths[i]!, digests, i * 32, job);
    if (size === undefined) {
      Atomics.store(status, i, FILE_RETURNED);
      continue;
    }
    sizes[i] = size;
    entryLeafHashInto(digests, i * 32, names[i]!, scratch, leaves, i * 32);
    Atomics.store(status, i, FILE_HASHED);
    Atomics.add(job.hashed, 0, 1n);
  }
  parentPort!.postMessage(message.id);
}

function root(message: RootMessage): void {
  const result = new Uint8Array(rootOfPackedLeaves(new Uint8Array(message.root)));
  parentPort!.postMessage({ id: message.id, root: result }, [result.buffer]);
}

parentPort?.on('message', (message: HashJobMessage | RootMessage) => {
  if ('root' in message) root(message);
  else hashJob(message);
});
