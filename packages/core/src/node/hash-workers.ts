import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { HashJobMessage } from './hash-job.js';

/**
 * How to start the worker: from `hash-worker.cjs` beside this file once built; from source (vitest,
 * tsx), `hash-worker.ts` through tsx's CommonJS hook (Node 20 runs no module loader hooks in a
 * worker thread), loaded by a two-line bootstrap.
 */
function workerStart(): { readonly file: URL | string; readonly options: WorkerOptions } {
  if (!import.meta.url.endsWith('.ts')) {
    return { file: new URL('./hash-worker.cjs', import.meta.url), options: {} };
  }
  const tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
  const worker = fileURLToPath(new URL('./hash-worker.ts', import.meta.url));
  const bootstrap = `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(worker)});`;
  return { file: bootstrap, options: { eval: true } };
}

/** A worker thread running `hash-worker`, not keeping the process alive. */
function startWorker(): Worker {
  const { file, options } = workerStart();
  const worker = new Worker(file, options);
  worker.unref();
  return worker;
}

/**
 * One set of files shared by the calling thread and the workers. Each side claims the next file
 * with {@link SharedHashJob.claim} until none is left.
 *
 * @internal
 */
export class SharedHashJob {
  /** [next file to claim, stopped]. */
  readonly #control: Int32Array;
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
    start: (message: HashJobMessage) => Promise<void>,
  ) {
    const n = paths.length;
    this.#count = n;
    const control = new SharedArrayBuffer(8);
    const progress = new SharedArrayBuffer(16);
    const sizes = new SharedArrayBuffer(8 * n);
    const digests = new SharedArrayBuffer(32 * n);
    const leaves = new SharedArrayBuffer(32 * n);
    const state = new SharedArrayBuffer(4 * n);
    this.#control = new Int32Array(control);
    this.#progress = new BigInt64Array(progress);
    this.#sizes = new Float64Array(sizes);
    this.#digests = new Uint8Array(digests);
    this.#leaves = new Uint8Array(leaves);
    this.#status = new Int32Array(state);
    const message: HashJobMessage = {
      id,
      paths,
      names,
      control,
      progress,
      sizes,
      digests,
      leaves,
      state,
    };
    this.finished = start(message);
  }

  /** The index of the next unclaimed file, or a number >= the file count when none is left. */
  claim(): number {
    return Atomics.add(this.#control, 0, 1);
  }

  /**
   * Makes every unclaimed file claimed and tells the workers to stop: a worker reading a large
   * file leaves it at its next read (handing it back unhashed).
   */
  stop(): void {
    Atomics.store(this.#control, 0, this.#count);
    Atomics.store(this.#control, 1, 1);
  }

  /** Files and bytes the workers hashed so far. */
  get progress(): { readonly files: number; readonly bytes: number } {
    return {
      files: Number(Atomics.load(this.#progress, 0)),
      bytes: Number(Atomics.load(this.#progress, 1)),
    };
  }

  /**
   * What became of file `i` (read after {@link SharedHashJob.finished}): `FILE_HASHED`,
   * `FILE_RETURNED` (see `hash-job.ts`), or 0 when no worker finished it.
   */
  status(i: number): number {
    return Atomics.load(this.#status, i);
  }

  /**
   * Copies the digest and leaf hash a worker computed for file `i` (status `FILE_HASHED`) into
   * `digests` and `leaves` at `at`, and returns its size.
   */
  copyResult(i: number, digests: Uint8Array, leaves: Uint8Array, at: number): number {
    digests.set(this.#digests.subarray(i * 32, i * 32 + 32), at);
    leaves.set(this.#leaves.subarray(i * 32, i * 32 + 32), at);
    return this.#sizes[i]!;
  }
}

/**
 * Worker threads that hash files alongside the calling thread.
 *
 * @internal
 */
export class HashWorkers {
  readonly #workers = new Set<Worker>();
  /** Per job id: the workers that have not finished it yet, and what to call when none is left. */
  readonly #pending = new Map<number, { waiting: Set<Worker>; resolve: () => void }>();
  /** Root computations waiting for their worker, by id. */
  readonly #roots = new Map<number, (root: Uint8Array | undefined) => void>();
  #nextId = 0;

  /**
   * How many workers are worth starting on this machine to hash many small files beside the
   * calling thread (0 on one core).
   */
  static defaultCount(): number {
    return Math.max(0, Math.min(availableParallelism() - 1, 3));
  }

  constructor(count: number) {
    for (let i = 0; i < count; i++) {
      const worker = startWorker();
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
   * The RFC 9162 root over `leafHashes` (32 bytes each, one after another in tree order; the
   * buffer is transferred) computed by a worker, so this thread can do other work meanwhile.
   * `undefined` for no leaves or when no worker is left (compute it here).
   */
  root(leafHashes: Uint8Array<ArrayBuffer>): Promise<Uint8Array | undefined> {
    const worker = this.#workers.values().next().value;
    if (worker === undefined || leafHashes.length === 0) return Promise.resolve(undefined);
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#roots.set(id, (root) => {
        this.#roots.delete(id);
        this.#rootWorker.delete(id);
        resolve(root);
      });
      this.#rootWorker.set(id, worker);
      worker.postMessage({ id, root: leafHashes.buffer }, [leafHashes.buffer]);
    });
  }

  /** Stops every worker. */
  async close(): Promise<void> {
    await Promise.all([...this.#workers].map((w) => w.terminate()));
  }
}
