import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

// The worker hashes small files (up to one read buffer) and their RFC 9162 leaves. Files are
// claimed one at a time from a counter shared with the calling thread, so both threads stay busy
// to the end without waiting for each other's messages. A file the worker cannot hash whole
// (larger than its buffer, unreadable, not a regular file) is marked for the calling thread,
// which hashes it again and reports the error, if any, with the file's manifest path.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const flags = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW || 0) | (fs.constants.O_NONBLOCK || 0);
const buffer = new Uint8Array(${1024 * 1024});
const oneShot = typeof crypto.hash === 'function'
  ? (data) => crypto.hash('sha256', data, 'buffer')
  : (data) => crypto.createHash('sha256').update(data).digest();
let leafInput = Buffer.alloc(4096);
function hashOne(path) {
  let fd;
  try {
    fd = fs.openSync(path, flags);
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) return null;
    let offset = 0;
    while (offset < buffer.length) {
      const n = fs.readSync(fd, buffer, offset, buffer.length - offset, offset);
      offset += n;
      if (n === 0 || (offset === stat.size && offset < buffer.length)) {
        return { size: offset, digest: oneShot(buffer.subarray(0, offset)) };
      }
    }
    return null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) try { fs.closeSync(fd); } catch {}
  }
}
function nodeHash(input, left, right) {
  input.set(left, 1);
  input.set(right, 33);
  return oneShot(input);
}
// RFC 9162 root over leaf hashes (32 bytes each, in order), with a stack of perfect subtrees.
function rootOf(leaves) {
  const n = leaves.length / 32;
  const input = new Uint8Array(65);
  input[0] = 1;
  const stack = [];
  const sizes = [];
  for (let i = 0; i < n; i++) {
    let hash = leaves.subarray(i * 32, i * 32 + 32);
    let size = 1;
    while (sizes.length > 0 && sizes[sizes.length - 1] === size) {
      hash = nodeHash(input, stack.pop(), hash);
      sizes.pop();
      size *= 2;
    }
    stack.push(hash);
    sizes.push(size);
  }
  let root = stack.pop();
  while (stack.length > 0) root = nodeHash(input, stack.pop(), root);
  return new Uint8Array(root);
}
parentPort.on('message', (message) => {
  if (message.root !== undefined) {
    const root = rootOf(new Uint8Array(message.root));
    parentPort.postMessage({ id: message.id, root }, [root.buffer]);
    return;
  }
  hashJob(message);
});
function hashJob({ id, paths, names, control, progress, sizes, digests, leaves, state }) {
  const next = new Int32Array(control);
  const hashed = new BigInt64Array(progress);
  const size = new Float64Array(sizes);
  const digest = new Uint8Array(digests);
  const leaf = new Uint8Array(leaves);
  const status = new Int32Array(state);
  for (;;) {
    const i = Atomics.add(next, 0, 1);
    if (i >= paths.length) break;
    const r = hashOne(paths[i]);
    if (r === null) {
      Atomics.store(status, i, 2);
      continue;
    }
    size[i] = r.size;
    digest.set(r.digest, i * 32);
    const name = names[i];
    const need = 33 + name.length * 3;
    if (leafInput.length < need) leafInput = Buffer.alloc(need * 2);
    leafInput[0] = 0;
    leafInput.set(r.digest, 1);
    const end = 33 + leafInput.utf8Write(name, 33);
    leaf.set(oneShot(leafInput.subarray(0, end)), i * 32);
    Atomics.store(status, i, 1);
    Atomics.add(hashed, 0, 1n);
    Atomics.add(hashed, 1, BigInt(r.size));
  }
  parentPort.postMessage(id);
}
`;

/** A worker hashed the file: size, digest and leaf hash are in the job's arrays. @internal */
export const FILE_HASHED = 1;
/** A worker claimed the file but could not hash it whole: the calling thread must. @internal */
export const FILE_RETURNED = 2;

/**
 * One set of files shared by the calling thread and the workers. Each side claims the next file
 * with {@link SharedHashJob.claim} until none is left.
 *
 * @internal
 */
export class SharedHashJob {
  readonly #next: Int32Array;
  readonly #progress: BigInt64Array;
  readonly #sizes: Float64Array;
  readonly #digests: Uint8Array;
  readonly #leaves: Uint8Array;
  readonly #status: Int32Array;
  readonly #count: number;
  readonly finished: Promise<void>;

  constructor(
    id: number,
    paths: readonly string[],
    names: readonly string[],
    start: (message: object) => Promise<void>,
  ) {
    const n = paths.length;
    this.#count = n;
    const control = new SharedArrayBuffer(4);
    const progress = new SharedArrayBuffer(16);
    const sizes = new SharedArrayBuffer(8 * n);
    const digests = new SharedArrayBuffer(32 * n);
    const leaves = new SharedArrayBuffer(32 * n);
    const state = new SharedArrayBuffer(4 * n);
    this.#next = new Int32Array(control);
    this.#progress = new BigInt64Array(progress);
    this.#sizes = new Float64Array(sizes);
    this.#digests = new Uint8Array(digests);
    this.#leaves = new Uint8Array(leaves);
    this.#status = new Int32Array(state);
    const message = { id, paths, names, control, progress, sizes, digests, leaves, state };
    this.finished = start(message);
  }

  /** The index of the next unclaimed file, or a number >= the file count when none is left. */
  claim(): number {
    return Atomics.add(this.#next, 0, 1);
  }

  /** Makes every unclaimed file claimed, so workers stop after the file they are on. */
  stop(): void {
    Atomics.store(this.#next, 0, this.#count);
  }

  /** Files and bytes the workers hashed so far. */
  get progress(): { readonly files: number; readonly bytes: number } {
    return {
      files: Number(Atomics.load(this.#progress, 0)),
      bytes: Number(Atomics.load(this.#progress, 1)),
    };
  }

  /**
   * What became of file `i` (read after {@link SharedHashJob.finished}): {@link FILE_HASHED},
   * {@link FILE_RETURNED}, or 0 when no worker finished it.
   */
  status(i: number): number {
    return Atomics.load(this.#status, i);
  }

  /** The size, digest and leaf hash a worker computed for file `i` (status {@link FILE_HASHED}). */
  result(i: number): { size: number; digest: Uint8Array; leaf: Uint8Array } {
    return {
      size: this.#sizes[i]!,
      digest: this.#digests.slice(i * 32, i * 32 + 32),
      leaf: this.#leaves.slice(i * 32, i * 32 + 32),
    };
  }
}

/**
 * Worker threads that hash small files alongside the calling thread.
 *
 * @internal
 */
export class SmallFileWorkers {
  readonly #workers = new Set<Worker>();
  /** Per job id: the workers that have not finished it yet, and what to call when none is left. */
  readonly #pending = new Map<number, { waiting: Set<Worker>; resolve: () => void }>();
  /** Root computations waiting for their worker, by id. */
  readonly #roots = new Map<number, (root: Uint8Array | undefined) => void>();
  #nextId = 0;

  /** How many workers are worth starting on this machine (0 on one core). */
  static defaultCount(): number {
    return Math.max(0, Math.min(availableParallelism() - 1, 3));
  }

  constructor(count: number) {
    for (let i = 0; i < count; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.unref();
      worker.on('message', (message: number | { id: number; root: Uint8Array }) => {
        if (typeof message === 'number') this.#answered(worker, message);
        else this.#roots.get(message.id)?.(message.root);
      });
      // A worker that fails or exits finishes no further job: its claimed files stay open and
      // the caller hashes them.
      const gone = (): void => {
        this.#workers.delete(worker);
        for (const [id, resolve] of this.#roots)
          if (this.#rootWorker.get(id) === worker) resolve(undefined);
        for (const id of [...this.#pending.keys()]) this.#answered(worker, id);
      };
      worker.on('error', gone);
      worker.on('exit', gone);
      this.#workers.add(worker);
    }
  }

  #answered(worker: Worker, id: number): void {
    const job = this.#pending.get(id);
    if (job === undefined) return;
    job.waiting.delete(worker);
    if (job.waiting.size === 0) {
      this.#pending.delete(id);
      job.resolve();
    }
  }

  /**
   * Starts hashing `paths` (absolute) in every worker; `names` are their manifest paths (for the
   * leaf hashes). The caller claims files from the same job. Workers take jobs in the order
   * they were started.
   */
  start(paths: readonly string[], names: readonly string[]): SharedHashJob {
    const id = this.#nextId++;
    return new SharedHashJob(id, paths, names, (message) => {
      if (this.#workers.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        this.#pending.set(id, { waiting: new Set(this.#workers), resolve });
        for (const worker of this.#workers) worker.postMessage(message);
      });
    });
  }

  readonly #rootWorker = new Map<number, Worker>();

  /**
   * The RFC 9162 root over `leafHashes` (32 bytes each, in tree order) computed by a worker, so
   * this thread can do other work meanwhile. `undefined` for no leaves or when no worker is left (compute it here).
   */
  root(leafHashes: readonly Uint8Array[]): Promise<Uint8Array | undefined> {
    const worker = this.#workers.values().next().value;
    if (worker === undefined || leafHashes.length === 0) return Promise.resolve(undefined);
    const id = this.#nextId++;
    const all = new Uint8Array(leafHashes.length * 32);
    for (let i = 0; i < leafHashes.length; i++) all.set(leafHashes[i]!, i * 32);
    return new Promise((resolve) => {
      this.#roots.set(id, (root) => {
        this.#roots.delete(id);
        this.#rootWorker.delete(id);
        resolve(root);
      });
      this.#rootWorker.set(id, worker);
      worker.postMessage({ id, root: all.buffer }, [all.buffer]);
    });
  }

  /** Stops every worker. */
  async close(): Promise<void> {
    await Promise.all([...this.#workers].map((w) => w.terminate()));
  }
}
