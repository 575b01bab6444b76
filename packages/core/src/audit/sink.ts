import { PlumblineError } from '../errors.js';
import type { AuditEvent } from './envelope.js';

/**
 * One event as sinks receive it: the (already redacted and validated) envelope and its JSON
 * serialization (no trailing newline). Sinks write `json` as is, so every sink stores the same bytes.
 *
 * @public
 */
export interface AuditRecord {
  /** The redacted, validated event. */
  readonly event: AuditEvent;
  /** `event` serialized as one line of JSON, without the trailing newline. */
  readonly json: string;
}

/**
 * Where audit events go (the role-named `sink.ts` of docs/architecture.md). Implement it for your own destination and
 * prove it with `describeAuditSinkConformance` from `@plumbline/core/testing`.
 *
 * Contract:
 * - `write` resolves only once the records are as durable as the sink promises (a file sink after
 *   fsync, an HTTP sink after a 2xx), and rejects if they are not. It may be called again before an
 *   earlier call settled; records of earlier calls are written before those of later ones.
 * - `write` never mutates the records.
 * - After `close` resolved, `write` rejects with `PLB_AUDIT_SINK_CLOSED`.
 *
 * Whether a failed write fails the audited action is not the sink's choice: the logger's delivery
 * mode (`must-write` or `best-effort`) decides.
 *
 * @public
 */
export interface AuditSink {
  /** A name for metrics and `audit.events_dropped` summaries (no secrets, such as `file`). */
  readonly name: string;
  /** Writes records in order; resolves when they are durable. */
  write(
    records: readonly AuditRecord[],
    options?: { readonly signal?: AbortSignal },
  ): Promise<void>;
  /**
   * Optional: writes `count` records given as their JSON lines already encoded, with the same
   * guarantees and ordering as `write` (calls of both kinds are written in call order). The
   * concatenation of `lines` is the UTF-8 of each record's `json` followed by `\n`; every chunk
   * ends at a line boundary. The chunks are valid only until the returned promise settles (the
   * caller reuses their memory afterwards): copy what must outlive it, and do not change them.
   * A best-effort queue in front of a sink that has `writeLines` keeps its backlog as encoded
   * lines instead of records, which under bursts costs far less memory and garbage collection.
   */
  writeLines?(lines: readonly Uint8Array[], count: number): Promise<void>;
  /** Waits until everything accepted so far is durable. */
  flush?(): Promise<void>;
  /** Flushes and releases resources. Idempotent. */
  close?(): Promise<void>;
}

/**
 * How the logger delivers to a sink.
 * - `must-write`: `emit` waits for the sink; if the write fails, `emit` rejects with
 *   `PLB_AUDIT_WRITE_FAILED` and the caller must fail the action (fail closed).
 * - `best-effort`: events go into a bounded queue drained in the background; `emit` never waits
 *   for or fails because of this sink. Drops (queue full, write failure) are counted and reported
 *   by an `audit.events_dropped` event once the sink accepts writes again.
 *
 * @public
 */
export type AuditDelivery = 'must-write' | 'best-effort';

/**
 * The rejection of a write to a closed sink (`PLB_AUDIT_SINK_CLOSED`).
 *
 * @internal
 */
export function sinkClosed(name: string): Promise<never> {
  return Promise.reject(
    new PlumblineError('PLB_AUDIT_SINK_CLOSED', `audit sink "${name}" is closed`),
  );
}
