import { PlumblineError } from '../errors.js';
import {
  eventsDropped,
  eventsSuppressed,
  auditDetailSchemas,
  isCatalogueType,
} from './catalogue.js';
import {
  AUDIT_SCHEMA_VERSION,
  type AuditEvent,
  type AuditEventInput,
  type AuditSource,
} from './envelope.js';
import { createRedactorCore, type RedactionOptions, type RedactorCore } from './redact.js';
import {
  DenyStormLimiter,
  type AuditRateLimitOptions,
  type SuppressionSummary,
} from './rate-limit.js';
import type { AuditDelivery, AuditRecord, AuditSink } from './sink.js';
import { BestEffortQueue, type BestEffortQueueOptions, type DropSummary } from './best-effort.js';
import { uuidv7 } from './uuid.js';
import { checkEnvelope } from './envelope-check.js';

const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * What {@link AuditLogger.emit} resolves to.
 *
 * @public
 */
export interface AuditEmitResult {
  /** The event as written (redacted), or `undefined` when the deny-storm limiter suppressed it. */
  readonly event?: AuditEvent;
  /** `true` when the limiter suppressed the event (it is counted in a later summary). */
  readonly suppressed: boolean;
}

/**
 * The one object the SDK's components emit audit events through (admin handler, fleet monitor,
 * control plane, load-time verification). Build events with the catalogue builders.
 *
 * @example
 * ```ts
 * import { createAuditLogger, provenanceRead } from '@plumbline/core/audit';
 * const audit = createAuditLogger({ source: { component: 'agent' }, sinks: [{ sink, delivery: 'must-write' }] });
 * await audit.emit(provenanceRead({
 *   actor: { type: 'service', id: 'admin-token' },
 *   details: { node_id: 'gw-1', artifact_hash: null, path: '/_admin/provenance', status: 200 },
 * }));
 * ```
 * @public
 */
export interface AuditLogger {
  /**
   * Redacts, validates and delivers one event. Resolves once every `must-write` sink has written
   * it; best-effort sinks never delay or fail it.
   *
   * @throws {@link PlumblineError} `PLB_AUDIT_WRITE_FAILED` when a must-write sink failed (fail
   * the action), `PLB_AUDIT_INVALID_EVENT` when the event does not match the schema,
   * `PLB_AUDIT_CLOSED` after `close`.
   */
  emit(event: AuditEventInput): Promise<AuditEmitResult>;
  /** Writes pending suppression summaries, drains best-effort queues and flushes every sink. */
  flush(): Promise<void>;
  /** Flushes, then closes every sink. Idempotent. */
  close(): Promise<void>;
  /** Counters for metrics (no labels but event type, outcome and sink name). */
  metrics(): AuditLoggerMetrics;
}

/**
 * Counters of an {@link AuditLogger}.
 *
 * @public
 */
export interface AuditLoggerMetrics {
  /** Events accepted (not suppressed), by `type`. */
  readonly emitted: Readonly<Record<string, number>>;
  /** Events suppressed by the deny-storm limiter. */
  readonly suppressed: number;
  /** `emit` calls rejected because the event was invalid. */
  readonly invalid: number;
  /** Per sink. */
  readonly sinks: Readonly<
    Record<
      string,
      {
        readonly delivery: AuditDelivery;
        readonly written: number;
        readonly failed: number;
        readonly dropped: number;
        readonly queued: number;
      }
    >
  >;
}

/**
 * A sink with its delivery mode.
 *
 * @public
 */
export type AuditSinkBinding =
  | { readonly sink: AuditSink; readonly delivery: 'must-write' }
  | {
      readonly sink: AuditSink;
      readonly delivery: 'best-effort';
      readonly queue?: BestEffortQueueOptions;
    };

/**
 * Options of {@link createAuditLogger}.
 *
 * @public
 */
export interface AuditLoggerOptions {
  /** The component writing events (the envelope's `source`). */
  readonly source: AuditSource;
  /** Where events go, each with an explicit delivery mode. */
  readonly sinks: readonly AuditSinkBinding[];
  /** Redaction settings; redaction always runs before any sink sees an event. */
  readonly redaction?: RedactionOptions;
  /** Deny-storm limiting; `false` turns it off. Default on with the defaults of {@link AuditRateLimitOptions}. */
  readonly rateLimit?: AuditRateLimitOptions | false;
  /** Default tenant for events that name none. */
  readonly tenant?: string;
  /** Clock (ms since the epoch); tests pass a fake one. */
  readonly now?: () => number;
  /**
   * Called with best-effort delivery errors and failures writing internal summaries. Never
   * receives event contents. Default: ignore (errors are counted in `metrics()`).
   */
  readonly onError?: (error: PlumblineError) => void;
}

const SYSTEM_ACTOR = { type: 'system', id: 'plumbline-audit' } as const;

class Logger implements AuditLogger {
  readonly #tenant: string | undefined;
  readonly #now: () => number;
  readonly #redact: RedactorCore;
  /** The default source, redacted once. */
  readonly #sourceRedacted: unknown;
  /** The last clock reading turned into an RFC 3339 time, and that time. */
  #lastNow = Number.NaN;
  #lastTime = '';
  readonly #limiter: DenyStormLimiter | undefined;
  readonly #must: { sink: AuditSink; written: number; failed: number }[] = [];
  readonly #best: { sink: AuditSink; queue: BestEffortQueue }[] = [];
  readonly #emitted: Record<string, number> = Object.create(null) as Record<string, number>;
  readonly #onError: (error: PlumblineError) => void;
  #suppressed = 0;
  #invalid = 0;
  #closed = false;
  #closing: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: AuditLoggerOptions) {
    if (options.sinks.length === 0) {
      throw new PlumblineError('PLB_AUDIT_CONFIG', 'an audit logger needs at least one sink');
    }
    const names = new Set<string>();
    for (const b of options.sinks) {
      if (names.has(b.sink.name)) {
        throw new PlumblineError('PLB_AUDIT_CONFIG', `two sinks are named "${b.sink.name}"`, {
          details: { sink: b.sink.name },
        });
      }
      names.add(b.sink.name);
    }
    this.#tenant = options.tenant;
    this.#now = options.now ?? Date.now;
    this.#redact = createRedactorCore(options.redaction);
    // Shared by every event that names no source of its own, so frozen.
    this.#sourceRedacted = Object.freeze(this.#redact.field(options.source, 1));
    this.#onError = options.onError ?? (() => {});
    this.#limiter =
      options.rateLimit === false ? undefined : new DenyStormLimiter(options.rateLimit);
    for (const b of options.sinks) {
      if (b.delivery === 'must-write') this.#must.push({ sink: b.sink, written: 0, failed: 0 });
      else {
        const queue = new BestEffortQueue(b.sink, b.queue ?? {}, {
          now: this.#now,
          onRecovered: (summary) => this.#dropSummary(summary, queue),
          onError: (error) => this.#onError(error),
        });
        this.#best.push({ sink: b.sink, queue });
      }
    }
    if (this.#limiter) {
      this.#timer = setInterval(() => {
        void this.#writeSuppressionSummaries();
      }, this.#limiter.summaryIntervalMs);
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  emit(input: AuditEventInput): Promise<AuditEmitResult> {
    if (this.#closed) {
      return Promise.reject(new PlumblineError('PLB_AUDIT_CLOSED', 'the audit logger is closed'));
    }
    const now = this.#now();
    let before: Promise<unknown> | undefined;
    if (this.#limiter && input && typeof input === 'object' && input.actor) {
      const verdict = this.#limiter.take(
        String(input.type),
        String(input.actor.id),
        input.outcome,
        now,
      );
      if (!verdict.admitted) {
        this.#suppressed++;
        return Promise.resolve({ suppressed: true });
      }
      if (verdict.summary) {
        try {
          before = this.#deliver(this.#suppressionRecord(verdict.summary), true);
        } catch (error) {
          this.#onError(error as PlumblineError);
        }
      }
    }
    let record: AuditRecord;
    try {
      record = this.#record(input, now);
    } catch (error) {
      this.#invalid++;
      return Promise.reject(error as Error);
    }
    const delivered = this.#deliver(record, false);
    const result: AuditEmitResult = { event: record.event, suppressed: false };
    // Only best-effort sinks: nothing to wait for (one settled promise, no chain).
    if (delivered === undefined && before === undefined) return Promise.resolve(result);
    const done = before
      ? Promise.all([before.catch(() => undefined), delivered])
      : (delivered as Promise<void>);
    return done.then(() => result);
  }

  /** Redacts, fills in and validates one event. */
  #record(input: AuditEventInput, now: number): AuditRecord {
    if (typeof input !== 'object' || input === null) {
      throw new PlumblineError('PLB_AUDIT_INVALID_EVENT', 'an audit event must be an object');
    }
    let time: unknown;
    if (input.time === undefined) {
      if (now !== this.#lastNow) {
        this.#lastTime = new Date(now).toISOString();
        this.#lastNow = now;
      }
      time = this.#lastTime;
    } else {
      time = input.time instanceof Date ? input.time.toISOString() : input.time;
    }
    const tenant = input.tenant ?? this.#tenant;
    // Everything the caller gave is redacted (each field as the envelope's own, at depth 1); the
    // fields the logger makes itself are not secret. The key order is the envelope's.
    const r = this.#redact;
    const fields: Record<string, unknown> = {
      schema_version: AUDIT_SCHEMA_VERSION,
      id: uuidv7(now),
      time: typeof time === 'string' && TIME_RE.test(time) ? time : '(invalid)',
      type: r.field(input.type, 1),
      outcome: r.field(input.outcome, 1),
      severity: r.field(
        input.severity ??
          (input.outcome === 'success' || input.outcome === 'allow' ? 'info' : 'medium'),
        1,
      ),
      actor: r.field(input.actor, 1),
    };
    // An optional field redacted to nothing (a function, a symbol) is left out, as JSON would;
    // a required one fails the envelope check below.
    if (input.subject !== undefined) optional(fields, 'subject', r.field(input.subject, 1));
    if (input.reason !== undefined) optional(fields, 'reason', r.field(input.reason, 1));
    if (input.trace !== undefined) optional(fields, 'trace', r.field(input.trace, 1));
    if (tenant !== undefined) optional(fields, 'tenant', r.field(tenant, 1));
    fields['source'] = input.source === undefined ? this.#sourceRedacted : r.field(input.source, 1);
    fields['details'] = r.field(input.details ?? {}, 1);
    const bad = checkEnvelope(fields);
    if (bad !== undefined)
      throw invalid([{ path: bad.split('.'), message: 'does not match the audit event schema' }]);
    const event = fields as unknown as AuditEvent;
    if (isCatalogueType(event.type)) {
      const details = auditDetailSchemas[event.type].safeParse(event.details);
      if (!details.success) throw invalid(details.error.issues, ['details']);
    }
    return { event, json: JSON.stringify(event) };
  }

  /** Queues `record` for best-effort sinks; the promise of the must-write writes, if any. */
  #deliver(record: AuditRecord, internal: boolean): Promise<void> | undefined {
    this.#emitted[record.event.type] = (this.#emitted[record.event.type] ?? 0) + 1;
    for (const b of this.#best) b.queue.enqueue(record, false);
    if (this.#must.length === 0) return undefined;
    const batch = [record];
    const writes = this.#must.map((m) =>
      m.sink.write(batch).then(
        () => {
          m.written++;
        },
        (error: unknown) => {
          m.failed++;
          throw new PlumblineError(
            'PLB_AUDIT_WRITE_FAILED',
            `must-write audit sink "${m.sink.name}" failed to write an event`,
            { cause: error, details: { sink: m.sink.name, event_id: record.event.id } },
          );
        },
      ),
    );
    const all = writes.length === 1 ? writes[0]! : Promise.all(writes).then(() => undefined);
    if (internal) {
      return all.catch((error: unknown) => {
        this.#onError(error as PlumblineError);
      });
    }
    return all;
  }

  #suppressionRecord(s: SuppressionSummary): AuditRecord {
    return this.#record(
      eventsSuppressed({
        actor: SYSTEM_ACTOR,
        details: {
          suppressed_type: s.type.slice(0, 512) || '-',
          suppressed_outcome: s.outcome,
          suppressed_actor: s.actor.length > 0 ? s.actor.slice(0, 512) : '-',
          suppressed_count: s.count,
          window_start: new Date(s.windowStart).toISOString(),
          window_end: new Date(s.windowEnd).toISOString(),
        },
      }),
      this.#now(),
    );
  }

  #dropSummary(summary: DropSummary, recovered: BestEffortQueue): void {
    let record: AuditRecord;
    try {
      record = this.#record(
        eventsDropped({
          actor: SYSTEM_ACTOR,
          details: {
            sink: summary.sink,
            dropped_count: summary.queueFull + summary.writeFailed,
            queue_full_count: summary.queueFull,
            write_failed_count: summary.writeFailed,
            first_dropped_at: new Date(summary.first).toISOString(),
            last_dropped_at: new Date(summary.last).toISOString(),
          },
        }),
        this.#now(),
      );
    } catch (error) {
      this.#onError(error as PlumblineError);
      return;
    }
    this.#emitted[record.event.type] = (this.#emitted[record.event.type] ?? 0) + 1;
    // The recovered sink always gets the summary (bypassing its queue limit); the others get it
    // like any event.
    for (const b of this.#best) b.queue.enqueue(record, b.queue === recovered);
    for (const m of this.#must) {
      m.sink.write([record]).then(
        () => {
          m.written++;
        },
        (error: unknown) => {
          m.failed++;
          this.#onError(
            new PlumblineError(
              'PLB_AUDIT_WRITE_FAILED',
              `audit sink "${m.sink.name}" failed to write a drop summary`,
              {
                cause: error,
                details: { sink: m.sink.name },
              },
            ),
          );
        },
      );
    }
  }

  async #writeSuppressionSummaries(): Promise<void> {
    if (!this.#limiter) return;
    const pending = this.#limiter.drainAll();
    await Promise.all(
      pending.map((s) => {
        try {
          return this.#deliver(this.#suppressionRecord(s), true);
        } catch (error) {
          this.#onError(error as PlumblineError);
          return undefined;
        }
      }),
    );
  }

  async flush(): Promise<void> {
    await this.#writeSuppressionSummaries();
    await Promise.all(this.#best.map((b) => b.queue.drain()));
    const errors: unknown[] = [];
    await Promise.all(
      [...this.#must.map((m) => m.sink), ...this.#best.map((b) => b.sink)].map((s) =>
        s.flush?.().catch((e: unknown) => errors.push(e)),
      ),
    );
    if (errors.length > 0) {
      throw new PlumblineError('PLB_AUDIT_WRITE_FAILED', 'an audit sink failed to flush', {
        cause: errors[0],
      });
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      let failure: unknown;
      try {
        await this.flush();
      } catch (error) {
        failure = error;
      }
      this.#closed = true;
      if (this.#timer !== undefined) clearInterval(this.#timer);
      for (const b of this.#best) b.queue.stop();
      const sinks = [...this.#must.map((m) => m.sink), ...this.#best.map((b) => b.sink)];
      await Promise.all(sinks.map((s) => s.close?.().catch((e: unknown) => (failure ??= e))));
      if (failure !== undefined) {
        throw PlumblineError.is(failure)
          ? failure
          : new PlumblineError('PLB_AUDIT_WRITE_FAILED', 'an audit sink failed to close', {
              cause: failure,
            });
      }
    })();
    return this.#closing;
  }

  metrics(): AuditLoggerMetrics {
    const sinks: Record<string, AuditLoggerMetrics['sinks'][string]> = {};
    for (const m of this.#must) {
      sinks[m.sink.name] = {
        delivery: 'must-write',
        written: m.written,
        failed: m.failed,
        dropped: 0,
        queued: 0,
      };
    }
    for (const b of this.#best)
      sinks[b.sink.name] = { delivery: 'best-effort', ...b.queue.stats() };
    return {
      emitted: { ...this.#emitted },
      suppressed: this.#suppressed,
      invalid: this.#invalid,
      sinks,
    };
  }
}

function optional(fields: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) fields[key] = value;
}

function invalid(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
  prefix: readonly string[] = [],
): PlumblineError {
  // Paths and zod's messages only: never the offending values.
  const list = issues
    .slice(0, 10)
    .map((i) => `${[...prefix, ...i.path.map(String)].join('.') || '(root)'}: ${i.message}`);
  return new PlumblineError('PLB_AUDIT_INVALID_EVENT', `invalid audit event: ${list.join('; ')}`, {
    details: {
      paths: issues.slice(0, 10).map((i) => [...prefix, ...i.path.map(String)].join('.')),
    },
  });
}

/**
 * Creates the {@link AuditLogger}: redaction, validation, deny-storm limiting and delivery to
 * must-write and best-effort sinks.
 *
 * @example
 * ```ts
 * import { createAuditLogger, createJsonLinesSink, sessionRejected } from '@plumbline/core/audit';
 * const audit = createAuditLogger({
 *   source: { component: 'control-plane', instance: 'cp-1' },
 *   sinks: [{ sink: createJsonLinesSink({ stream: writable }), delivery: 'must-write' }],
 * });
 * await audit.emit(sessionRejected({ actor: { type: 'anonymous', id: 'anonymous' }, details: { reason_code: 'unauthenticated' } }));
 * await audit.close();
 * ```
 * @throws {@link PlumblineError} `PLB_AUDIT_CONFIG` for no sinks, duplicate sink names or bad limits.
 * @public
 */
export function createAuditLogger(options: AuditLoggerOptions): AuditLogger {
  return new Logger(options);
}

/**
 * An {@link AuditLogger} that discards everything (for components whose caller gave none).
 * `emit` still validates events, so mistakes show up in tests.
 *
 * @example
 * ```ts
 * const audit = options.audit ?? noopAuditLogger();
 * ```
 * @public
 */
export function noopAuditLogger(): AuditLogger {
  return createAuditLogger({
    source: { component: 'noop' },
    sinks: [{ sink: { name: 'noop', write: () => Promise.resolve() }, delivery: 'must-write' }],
    rateLimit: false,
  });
}
