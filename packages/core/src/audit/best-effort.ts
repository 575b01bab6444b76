import { PlumblineError } from '../errors.js';
import { limitOption } from '../limit-option.js';
import type { AuditRecord, AuditSink } from './sink.js';
import { LineBuffer } from './line-buffer.js';

/**
 * Queue settings of a best-effort sink. Every limit has a finite default.
 *
 * @public
 */
export interface BestEffortQueueOptions {
  /** Most events waiting; further events are dropped and counted. Default 10,000. */
  readonly maxEvents?: number;
  /** Most events handed to one `write` call. Default 500. */
  readonly maxBatch?: number;
  /**
   * Most `write` calls in flight at once while a backlog drains (the sink contract keeps them in
   * order; a file sink commits them together). Default 4.
   */
  readonly maxInFlight?: number;
  /** First wait after a failed write; doubles up to `maxBackoffMs`. Default 100 ms. */
  readonly backoffMs?: number;
  /** Longest wait between attempts while the sink fails. Default 30,000 ms. */
  readonly maxBackoffMs?: number;
}

/** Drops counted since the last summary. @internal */
export interface DropSummary {
  readonly sink: string;
  readonly queueFull: number;
  readonly writeFailed: number;
  readonly first: number;
  readonly last: number;
}

/**
 * A bounded queue in front of one best-effort sink: drains in batches, never throws into the
 * caller, drops (and counts) when full, drops a batch (and counts it) when the sink fails, backs
 * off while it fails, and reports drops once a write succeeds again. For a sink with
 * `writeLines` the backlog is kept as encoded lines (see {@link LineBuffer}), not as records.
 *
 * @internal
 */
export class BestEffortQueue {
  readonly #sink: AuditSink;
  readonly #max: number;
  readonly #batch: number;
  readonly #inFlight: number;
  readonly #backoff: number;
  readonly #maxBackoff: number;
  readonly #now: () => number;
  readonly #onRecovered: (summary: DropSummary) => void;
  readonly #onError: (error: PlumblineError) => void;
  /** The backlog as records (sinks without `writeLines`)... */
  #queue: AuditRecord[] = [];
  #head = 0;
  /** ...or as encoded lines. */
  readonly #lines: LineBuffer | undefined;
  #running: Promise<void> | undefined;
  #failures = 0;
  #queueFull = 0;
  #writeFailed = 0;
  #first = 0;
  #last = 0;
  #written = 0;
  #failed = 0;
  #dropped = 0;
  #stopped = false;
  #wake: (() => void) | undefined;

  constructor(
    sink: AuditSink,
    options: BestEffortQueueOptions,
    hooks: {
      now: () => number;
      onRecovered: (summary: DropSummary) => void;
      onError: (error: PlumblineError) => void;
    },
  ) {
    this.#sink = sink;
    this.#max = limitOption(options.maxEvents, {
      name: 'best-effort queue maxEvents',
      code: 'PLB_AUDIT_CONFIG',
      fallback: 10_000,
    });
    this.#batch = limitOption(options.maxBatch, {
      name: 'best-effort queue maxBatch',
      code: 'PLB_AUDIT_CONFIG',
      fallback: 500,
    });
    this.#inFlight = limitOption(options.maxInFlight, {
      name: 'best-effort queue maxInFlight',
      code: 'PLB_AUDIT_CONFIG',
      fallback: 4,
    });
    this.#backoff = limitOption(options.backoffMs, {
      name: 'best-effort queue backoffMs',
      code: 'PLB_AUDIT_CONFIG',
      fallback: 100,
    });
    this.#maxBackoff = limitOption(options.maxBackoffMs, {
      name: 'best-effort queue maxBackoffMs',
      code: 'PLB_AUDIT_CONFIG',
      fallback: 30_000,
    });
    this.#now = hooks.now;
    this.#onRecovered = hooks.onRecovered;
    this.#onError = hooks.onError;
    if (typeof sink.writeLines === 'function') this.#lines = new LineBuffer(this.#batch);
  }

  /** Records waiting. */
  #pending(): number {
    return this.#lines ? this.#lines.count : this.#queue.length - this.#head;
  }

  /** Queues one record; drops and counts it when full (unless `force`, used for drop summaries). */
  enqueue(record: AuditRecord, force: boolean): void {
    if (this.#stopped) return;
    if (!force && this.#pending() >= this.#max) {
      this.#drop('queueFull', 1);
      return;
    }
    if (this.#lines) this.#lines.push(record.json);
    else this.#queue.push(record);
    this.#running ??= this.#run();
  }

  /** Resolves when the queue is empty (after trying every queued record once). */
  async drain(): Promise<void> {
    this.#wake?.();
    while (this.#running) await this.#running;
  }

  /** Stops accepting records and aborts backoff waits. */
  stop(): void {
    this.#stopped = true;
    this.#wake?.();
  }

  stats(): { written: number; failed: number; dropped: number; queued: number } {
    return {
      written: this.#written,
      failed: this.#failed,
      dropped: this.#dropped,
      queued: this.#pending(),
    };
  }

  #drop(kind: 'queueFull' | 'writeFailed', n: number): void {
    const now = this.#now();
    if (this.#queueFull + this.#writeFailed === 0) this.#first = now;
    this.#last = now;
    if (kind === 'queueFull') this.#queueFull += n;
    else this.#writeFailed += n;
    this.#dropped += n;
  }

  async #run(): Promise<void> {
    try {
      // Let callers queue a few more records before the first batch.
      await Promise.resolve();
      while (this.#pending() > 0) {
        // Hand the sink up to maxInFlight batches at once, in order, then settle them in order.
        const writes: Promise<{ count: number; error: unknown }>[] = [];
        while (this.#pending() > 0 && writes.length < this.#inFlight) {
          const lines = this.#lines;
          let count: number;
          let written: Promise<void>;
          if (lines) {
            const batch = lines.shift()!;
            count = batch.count;
            // The batch's memory is reused once the sink is done with it, whatever the outcome.
            written = attempt(() => this.#sink.writeLines!(batch.parts, batch.count)).finally(() =>
              lines.release(batch),
            );
          } else {
            const end = Math.min(this.#queue.length, this.#head + this.#batch);
            const batch = this.#queue.slice(this.#head, end);
            count = batch.length;
            this.#head = end;
            written = attempt(() => this.#sink.write(batch));
          }
          writes.push(
            written.then(
              () => ({ count, error: undefined }),
              (error: unknown) => ({ count, error: error ?? new Error('write failed') }),
            ),
          );
        }
        if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
          this.#queue = this.#queue.slice(this.#head);
          this.#head = 0;
        }
        let failedAny = false;
        for (const { count, error } of await Promise.all(writes)) {
          if (error === undefined) this.#succeeded(count);
          else {
            failedAny = true;
            this.#writeFailedOnce(count, error);
          }
        }
        if (!failedAny || this.#stopped) continue;
        const wait = Math.min(this.#maxBackoff, this.#backoff * 2 ** Math.min(this.#failures, 30));
        this.#failures++;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
      }
      this.#queue = [];
      this.#head = 0;
    } finally {
      this.#running = undefined;
    }
  }

  #succeeded(count: number): void {
    this.#written += count;
    this.#failures = 0;
    if (this.#queueFull + this.#writeFailed > 0) {
      const summary: DropSummary = {
        sink: this.#sink.name,
        queueFull: this.#queueFull,
        writeFailed: this.#writeFailed,
        first: this.#first,
        last: this.#last,
      };
      this.#queueFull = 0;
      this.#writeFailed = 0;
      this.#onRecovered(summary);
    }
  }

  #writeFailedOnce(count: number, error: unknown): void {
    this.#failed++;
    this.#drop('writeFailed', count);
    this.#onError(
      new PlumblineError(
        'PLB_AUDIT_WRITE_FAILED',
        `best-effort audit sink "${this.#sink.name}" failed; ${count} events dropped`,
        {
          cause: error,
          details: { sink: this.#sink.name, dropped: count },
        },
      ),
    );
  }
}

/** `write()`'s promise, with a synchronous throw turned into a rejection. */
function attempt(write: () => Promise<void>): Promise<void> {
  try {
    return write();
  } catch (error) {
    return Promise.reject(error);
  }
}
