import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * The code of a small-file hashing worker (evaluated from a string, so the package needs no extra
 * entry file). It hashes each listed file the same way the main thread does for small files and
 * answers `null` for a file it leaves to the main thread: larger than one chunk, not a regular
 * file, or any error (the main thread then raises the proper coded error).
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const flags = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW || 0) | (fs.constants.O_NONBLOCK || 0);
const buffer = new Uint8Array(${1024 * 1024});
const oneShot = typeof crypto.hash === 'function'
  ? (data) => crypto.hash('sha256', data, 'buffer')
  : (data) => crypto.createHash('sha256').update(data).digest();
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
parentPort.on('message', ({ id, paths }) => {
  const sizes = new Float64Array(paths.length);
  const digests = new Uint8Array(paths.length * 32);
  const done = new Uint8Array(paths.length);
  for (let i = 0; i < paths.length; i++) {
    const r = hashOne(paths[i]);
    if (r) { sizes[i] = r.size; digests.set(r.digest, i * 32); done[i] = 1; }
  }
  parentPort.postMessage({ id, sizes, digests, done }, [sizes.buffer, digests.buffer, done.buffer]);
});
`;

/** What a worker answers for one batch. @internal */
export interface WorkerBatchResult {
  readonly sizes: Float64Array;
  readonly digests: Uint8Array;
  /** 1 where the worker hashed the file, 0 where the main thread must. */
  readonly done: Uint8Array;
}

/**
 * A small pool of worker threads that hash batches of small files while the main thread hashes
 * others, so a tree of many small files uses every core.
 *
 * @internal
 */
export class SmallFileWorkers {
  readonly #workers: Worker[] = [];
  readonly #idle: Worker[] = [];
  readonly #pending = new Map<number, (result: WorkerBatchResult) => void>();
  #nextId = 0;

  /** How many workers are worth starting on this machine (0 on one core). */
  static defaultCount(): number {
    return Math.max(0, Math.min(availableParallelism() - 1, 3));
  }

  constructor(count: number) {
    for (let i = 0; i < count; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.unref();
      worker.on('message', (message: WorkerBatchResult & { id: number }) => {
        const resolve = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        this.#idle.push(worker);
        resolve?.(message);
      });
      this.#workers.push(worker);
      this.#idle.push(worker);
    }
  }

  /** Whether a worker is free to take a batch. */
  get hasIdle(): boolean {
    return this.#idle.length > 0;
  }

  /** Hands a batch of absolute paths to an idle worker. */
  hash(paths: readonly string[]): Promise<WorkerBatchResult> {
    const worker = this.#idle.pop();
    if (!worker) throw new Error('no idle worker');
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const onError = (error: unknown): void => {
        this.#pending.delete(id);
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      worker.once('error', onError);
      this.#pending.set(id, (result) => {
        worker.off('error', onError);
        resolve(result);
      });
      worker.postMessage({ id, paths });
    });
  }

  /** Stops every worker. */
  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
