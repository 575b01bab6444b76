import { z } from 'zod';

/**
 * The envelope version written into every event's `schema_version`. Readers accept any `1.x`
 * (minor versions only add optional fields) and refuse other majors.
 *
 * @public
 */
export const AUDIT_SCHEMA_VERSION = '1.0';

/**
 * The outcome of the audited action: `success`/`failure` for actions, `allow`/`deny` for
 * authorization decisions.
 *
 * @public
 */
export type AuditOutcome = 'success' | 'failure' | 'allow' | 'deny';

/**
 * Severity, after OCSF's `severity_id` names: `info` for routine events up to `critical` for
 * events that need a human now.
 *
 * @public
 */
export type AuditSeverity = 'info' | 'low' | 'medium' | 'high' | 'critical';

/**
 * Who acted. `id` is the authenticated principal (a node id, a user name, a token's *name*),
 * never a credential.
 *
 * @public
 */
export interface AuditActor {
  /** Kind of principal. */
  readonly type: 'user' | 'service' | 'node' | 'system' | 'anonymous';
  /** The authenticated principal. */
  readonly id: string;
  /** The SPIFFE ID from an mTLS peer certificate, when there is one. */
  readonly spiffe_id?: string;
  /** The remote address the request came from, when known. */
  readonly address?: string;
}

/**
 * What was acted on (a node, a cluster, an artifact, an endpoint).
 *
 * @public
 */
export interface AuditSubject {
  /** Kind of object, such as `node`, `cluster`, `artifact`, `endpoint`, `session`. */
  readonly type: string;
  /** Its identifier (a node id, a cluster name, a digest string). */
  readonly id: string;
}

/**
 * W3C Trace Context identifiers, taken from a `traceparent` header.
 *
 * @public
 */
export interface AuditTrace {
  /** 32 lowercase hex characters. */
  readonly trace_id: string;
  /** 16 lowercase hex characters. */
  readonly span_id?: string;
}

/**
 * The component that wrote the event.
 *
 * @public
 */
export interface AuditSource {
  /** Component name, such as `control-plane`, `agent`, `admin-handler`. */
  readonly component: string;
  /** Which instance of it (host name, pod name, process id). */
  readonly instance?: string;
}

/**
 * One audit event: the versioned envelope (`schema_version` 1.x) that every sink receives and
 * every log line holds. The table in `docs/audit.md` documents each field.
 *
 * @public
 */
export interface AuditEvent<
  TType extends string = string,
  TDetails extends Readonly<Record<string, unknown>> = Readonly<Record<string, unknown>>,
> {
  /** The envelope version, {@link AUDIT_SCHEMA_VERSION} when written by this library (`1.x`). */
  readonly schema_version: string;
  /** RFC 9562 UUIDv7. */
  readonly id: string;
  /** RFC 3339 UTC with milliseconds, such as `2026-01-02T03:04:05.678Z`. */
  readonly time: string;
  /** Dotted lowercase event type, such as `provenance.read`. */
  readonly type: TType;
  /** The outcome of the audited action or decision. */
  readonly outcome: AuditOutcome;
  /** How urgent the event is. */
  readonly severity: AuditSeverity;
  /** Who acted. */
  readonly actor: AuditActor;
  /** What was acted on; absent when the event concerns no particular object. */
  readonly subject?: AuditSubject;
  /** Why it happened or why it was refused, in words (redacted like everything else). */
  readonly reason?: string;
  /** The W3C Trace Context of the request that caused the event, when there was one. */
  readonly trace?: AuditTrace;
  /** The tenant the event belongs to: an attribute for filtering, never a metric label. */
  readonly tenant?: string;
  /** The component that wrote the event. */
  readonly source: AuditSource;
  /** Fields specific to `type` (see the catalogue). */
  readonly details: TDetails;
}

/**
 * What a caller passes to {@link AuditLogger.emit}: an event without the fields the logger fills
 * in (`schema_version`, `id`, `time`, `source`). The catalogue builders return these.
 *
 * @public
 */
export interface AuditEventInput<
  TType extends string = string,
  TDetails extends Readonly<Record<string, unknown>> = Readonly<Record<string, unknown>>,
> {
  /** Dotted lowercase event type, such as `provenance.read`. */
  readonly type: TType;
  /** The outcome of the audited action or decision. */
  readonly outcome: AuditOutcome;
  /** Default: `info` for a `success` or `allow` outcome, `medium` otherwise. */
  readonly severity?: AuditSeverity;
  /** Who acted: the authenticated principal, never a credential. */
  readonly actor: AuditActor;
  /** What was acted on, when the event concerns a particular object. */
  readonly subject?: AuditSubject;
  /** Why it happened or why it was refused, in words (redacted before it is written). */
  readonly reason?: string;
  /** The W3C Trace Context of the request that caused the event, when there is one. */
  readonly trace?: AuditTrace;
  /** The tenant the event belongs to. Default: the logger's `tenant`, if any. */
  readonly tenant?: string;
  /** Fields specific to `type` (see the catalogue). Default: `{}`. */
  readonly details?: TDetails;
  /** Overrides the time (RFC 3339 UTC with milliseconds, or a `Date`); default: now. */
  readonly time?: string | Date;
  /** Overrides the logger's source for this event. */
  readonly source?: AuditSource;
}

/** Longest string accepted in a short envelope field. @internal */
export const MAX_SHORT = 512;

const TYPE_RE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUIDV7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const short = z.string().min(1).max(MAX_SHORT);

/**
 * The zod schema of an event envelope. `details` is any JSON object here; the catalogue's
 * per-type schemas ({@link auditDetailSchemas}) check it for known types.
 *
 * @example
 * ```ts
 * import { auditEventSchema } from '@plumbline/core/audit';
 * const result = auditEventSchema.safeParse(JSON.parse(line));
 * ```
 * @public
 */
export const auditEventSchema = z
  .object({
    schema_version: z
      .string()
      .regex(/^1\.\d+$/)
      .describe('Envelope version, "1.x"; readers refuse other majors'),
    id: z.string().regex(UUIDV7_RE).describe('RFC 9562 UUIDv7, lowercase'),
    time: z.string().regex(TIME_RE).describe('RFC 3339 UTC with milliseconds'),
    type: z.string().max(128).regex(TYPE_RE).describe('Dotted lowercase event type'),
    outcome: z.enum(['success', 'failure', 'allow', 'deny']),
    severity: z.enum(['info', 'low', 'medium', 'high', 'critical']),
    actor: z
      .object({
        type: z.enum(['user', 'service', 'node', 'system', 'anonymous']),
        id: short.describe('The authenticated principal, never a credential'),
        spiffe_id: z
          .string()
          .max(2048)
          .regex(/^spiffe:\/\//)
          .optional(),
        address: short.optional(),
      })
      .strict(),
    subject: z
      .object({ type: short, id: z.string().max(2048) })
      .strict()
      .optional(),
    reason: z.string().max(4096).optional(),
    trace: z
      .object({
        trace_id: z.string().regex(/^[0-9a-f]{32}$/),
        span_id: z
          .string()
          .regex(/^[0-9a-f]{16}$/)
          .optional(),
      })
      .strict()
      .optional(),
    tenant: short.optional(),
    source: z.object({ component: short, instance: short.optional() }).strict(),
    details: z.record(z.string(), z.unknown()),
  })
  .strict();

/**
 * Parses a `traceparent` header (W3C Trace Context level 1) into an {@link AuditTrace}.
 * Returns `undefined` for anything malformed, an all-zero id, or a future version with a bad shape.
 *
 * @example
 * ```ts
 * traceFromTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
 * // { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' }
 * ```
 * @public
 */
export function traceFromTraceparent(header: string | null | undefined): AuditTrace | undefined {
  if (typeof header !== 'string' || header.length > 512) return undefined;
  const match = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/.exec(
    header.trim(),
  );
  if (!match) return undefined;
  const [, version, traceId, spanId, , rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return undefined;
  return { trace_id: traceId!, span_id: spanId! };
}

/**
 * Formats a time as RFC 3339 UTC with milliseconds (the envelope's `time`).
 *
 * @example
 * ```ts
 * formatAuditTime(new Date(0)); // '1970-01-01T00:00:00.000Z'
 * ```
 * @public
 */
export function formatAuditTime(date: Date): string {
  return date.toISOString();
}
