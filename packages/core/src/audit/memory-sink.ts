import type { AuditEvent } from './envelope.js';
import { createAuditLogger, type AuditLogger, type AuditLoggerOptions } from './logger.js';
import { sinkClosed, type AuditRecord, type AuditSink } from './sink.js';

/**
 * A sink that keeps records in memory, for tests and for callers that inspect events directly.
 * `failWith` makes writes fail, to test fail-closed paths.
 *
 * @example
 * ```ts
 * import { MemoryAuditSink } from '@plumbline/core/audit';
 * const sink = new MemoryAuditSink();
 * sink.failWith(new Error('disk full')); // writes now reject
 * sink.failWith(undefined); // and succeed again
 * ```
 * @public
 */
export class MemoryAuditSink implements AuditSink {
  /** The sink's name (default `memory`). */
  readonly name: string;
  /** Records written, in order. */
  readonly records: AuditRecord[] = [];
  readonly #max: number;
  #failure: unknown;
  #closed = false;

  /**
   * @param options - `name` (default `memory`); `maxRecords` (default 100,000): older records are
   * discarded beyond it.
   */
  constructor(options: { readonly name?: string; readonly maxRecords?: number } = {}) {
    this.name = options.name ?? 'memory';
    this.#max = options.maxRecords ?? 100_000;
  }

  /** The events written, in order. */
  get events(): AuditEvent[] {
    return this.records.map((r) => r.event);
  }

  /** Makes later writes reject with `error` (or succeed again with `undefined`). */
  failWith(error: unknown): void {
    this.#failure = error;
  }

  /**
   * Appends the records, dropping the oldest beyond `maxRecords`. Rejects with the error set by
   * {@link MemoryAuditSink.failWith}, or with `PLB_AUDIT_SINK_CLOSED` after {@link MemoryAuditSink.close}.
   */
  write(records: readonly AuditRecord[]): Promise<void> {
    if (this.#closed) return sinkClosed(this.name);
    if (this.#failure !== undefined) return Promise.reject(this.#failure as Error);
    this.records.push(...records);
    if (this.records.length > this.#max) this.records.splice(0, this.records.length - this.#max);
    return Promise.resolve();
  }

  /** Resolves at once: records are kept as soon as `write` accepts them. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  /** Makes later writes reject. The records written stay readable. */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}

/**
 * An {@link AuditLogger} writing to a {@link MemoryAuditSink} (must-write), for tests of code that
 * emits audit events. Deny-storm limiting is off unless `rateLimit` is given.
 *
 * @example
 * ```ts
 * import { createMemoryAuditLogger, driftDetected } from '@plumbline/core/audit';
 * const { logger, sink } = createMemoryAuditLogger();
 * await logger.emit(driftDetected({ actor: { type: 'system', id: 'monitor' }, details: { node_id: 'gw-1', cluster: 'c', reported_hash: null, desired_hash: null } }));
 * sink.events[0]?.type; // 'drift.detected'
 * ```
 * @public
 */
export function createMemoryAuditLogger(options: Partial<Omit<AuditLoggerOptions, 'sinks'>> = {}): {
  logger: AuditLogger;
  sink: MemoryAuditSink;
} {
  const sink = new MemoryAuditSink();
  const logger = createAuditLogger({
    source: { component: 'test' },
    rateLimit: false,
    ...options,
    sinks: [{ sink, delivery: 'must-write' }],
  });
  return { logger, sink };
}
