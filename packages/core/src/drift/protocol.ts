import { z } from 'zod';
import { PlumblineError } from '../errors.js';
import { utf8Length } from '../encoding/utf8.js';
import type { DigestString } from '../hash/digest.js';

/**
 * The protocol identifier of drift protocol v1, sent in `hello` and `welcome`.
 *
 * @public
 */
export const DRIFT_PROTOCOL = 'plumbline.drift/v1';

/**
 * Close codes of the drift protocol (docs/protocol.md "Session rules and close codes"). Transports that have no
 * numeric close codes of their own carry these numbers in their close or error message.
 *
 * @public
 */
export const DriftCloseCode = {
  /** The control plane or data plane is shutting down. */
  Shutdown: 1001,
  /** The peer closed without a close frame (reported by transports, never sent). */
  Abnormal: 1006,
  /** A frame larger than the configured limit. */
  FrameTooBig: 1009,
  /**
   * The control plane closed the session because its transport or store misbehaved (a thrown
   * error, a session without a valid identity): the data plane reconnects as after 1006.
   */
  InternalError: 1011,
  /** A frame that is not valid JSON, fails its schema, or arrives out of order. */
  Malformed: 4400,
  /** Authentication failed before the session was established. */
  Unauthenticated: 4401,
  /** The `hello` names another node or cluster than the authenticated identity. */
  IdentityMismatch: 4403,
  /** The handshake or the `hello` did not arrive in time. */
  HelloTimeout: 4408,
  /** A newer session of the same node replaced this one. */
  Replaced: 4409,
  /** The peer sent more messages than allowed, or the fleet is at its node limit. */
  RateLimited: 4429,
} as const;

/**
 * One of the numeric {@link DriftCloseCode} values.
 *
 * @public
 */
export type DriftCloseCodeValue = (typeof DriftCloseCode)[keyof typeof DriftCloseCode];

/** Bounds on string fields, so a hostile peer cannot make the control plane hold large strings. */
const ID_MAX = 253;
const TEXT_MAX = 1024;
const TIME_MAX = 64;

const digestSchema = z
  .string()
  .regex(/^sha256:[0-9a-f]{64}$/, 'a digest is "sha256:" followed by 64 lowercase hex characters')
  .transform((value) => value as DigestString);

/** Node ids and cluster names: 1–253 printable ASCII characters without spaces. */
const idSchema = z
  .string()
  .min(1)
  .max(ID_MAX)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

const timeSchema = z.iso.datetime({ offset: true }).max(TIME_MAX);

const protocolSchema = z.string().min(1).max(ID_MAX);

/**
 * Provenance a data plane reports for the artifact it loaded (a subset of the provenance header).
 *
 * @public
 */
export const reportedProvenanceSchema = z
  .object({
    commit: z.string().max(TEXT_MAX).optional(),
    source: z.string().max(TEXT_MAX).optional(),
    ref: z.string().max(TEXT_MAX).optional(),
    build_timestamp: z.string().max(TIME_MAX).optional(),
    builder: z
      .object({ id: z.string().max(TEXT_MAX), version: z.string().max(TEXT_MAX) })
      .optional(),
  })
  .meta({ title: 'Reported provenance' });

/**
 * The artifact one worker of a multi-worker gateway loaded.
 *
 * @public
 */
export const workerReportSchema = z
  .object({ id: z.string().min(1).max(ID_MAX), artifact_hash: digestSchema.nullable() })
  .meta({ title: 'Worker report' });

/**
 * The last failed load of a data plane: the artifact it attempted and why it failed.
 *
 * @public
 */
export const loadErrorSchema = z
  .object({
    artifact_hash: digestSchema,
    code: z.string().min(1).max(ID_MAX),
    message: z.string().max(TEXT_MAX),
    at: timeSchema,
  })
  .meta({ title: 'Load error' });

/**
 * The protocol identifier of the drift protocol's first minor version, sent in `hello` by a
 * data plane that reports `live_config`. Peers of `plumbline.drift/v1` accept it and ignore the
 * field.
 *
 * @public
 */
export const DRIFT_PROTOCOL_V1_1 = 'plumbline.drift/v1.1';

/** Most differences a `live_config` names, and the longest one. */
const DIFFERENCES_MAX = 32;
const DIFFERENCE_MAX = 256;

/**
 * What a data plane's live-configuration probe found (protocol v1.1): the digest of the
 * configuration the gateway runs now, the digest of what its artifact says it should run, and
 * where they differ. Digests are of canonical forms with secrets redacted on the node.
 *
 * @public
 */
export const liveConfigSchema = z
  .object({
    probe: z.string().min(1).max(64),
    status: z.enum(['ok', 'reload_pending', 'failing']),
    digest: digestSchema.nullable(),
    expected_digest: digestSchema.nullable(),
    differences: z.array(z.string().max(DIFFERENCE_MAX)).max(DIFFERENCES_MAX).optional(),
    pending: z.number().int().min(0).max(1_000_000).optional(),
    code: z.string().min(1).max(ID_MAX).optional(),
    message: z.string().max(TEXT_MAX).optional(),
    at: timeSchema,
  })
  .meta({
    title: 'Live configuration',
    description:
      'Protocol v1.1: the running configuration as a probe of the gateway found it. status "failing" carries code; digest differs from expected_digest when the running configuration changed out of band.',
  });

/** Most verification reasons a frame carries. */
const REASONS_MAX = 16;

/**
 * A check that failed on the artifact a data plane runs and that its policy tolerated (`warn`):
 * the rule, the error code and a message without secrets (protocol v1.1).
 *
 * @public
 */
export const verificationReasonSchema = z
  .object({
    rule: z.string().min(1).max(64),
    code: z.string().min(1).max(ID_MAX),
    message: z.string().max(TEXT_MAX),
  })
  .meta({
    title: 'Verification reason',
    description:
      'Protocol v1.1: a load-time check that failed on the artifact the node runs, tolerated under the warn policy.',
  });

/**
 * Builds the `hello` schema for a maximum number of workers.
 *
 * @internal
 */
function helloSchemaWith(maxWorkers: number) {
  return z
    .object({
      type: z.literal('hello'),
      protocol: protocolSchema,
      node_id: idSchema,
      cluster: idSchema,
      instance_id: z.string().min(1).max(ID_MAX),
      artifact_hash: digestSchema.nullable(),
      provenance: reportedProvenanceSchema.nullable().optional(),
      loaded_at: timeSchema.nullable().optional(),
      sdk: z.string().max(ID_MAX).optional(),
      workers: z.array(workerReportSchema).max(maxWorkers).optional(),
      live_config: liveConfigSchema.optional(),
      verification_reasons: z.array(verificationReasonSchema).min(1).max(REASONS_MAX).optional(),
    })
    .meta({
      title: 'hello',
      description:
        'First frame from a data plane: who it claims to be (checked against its authenticated identity) and what it loaded.',
    });
}

/**
 * Builds the `heartbeat` schema for a maximum number of workers.
 *
 * @internal
 */
function heartbeatSchemaWith(maxWorkers: number) {
  return z
    .object({
      type: z.literal('heartbeat'),
      seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      artifact_hash: digestSchema.nullable(),
      loaded_at: timeSchema.nullable().optional(),
      workers: z.array(workerReportSchema).max(maxWorkers).optional(),
      last_load_error: loadErrorSchema.nullable().optional(),
      live_config: liveConfigSchema.optional(),
      verification_reasons: z.array(verificationReasonSchema).min(1).max(REASONS_MAX).optional(),
    })
    .meta({
      title: 'heartbeat',
      description:
        'Periodic frame from a data plane: the artifact it runs now; seq rises per instance_id.',
    });
}

/**
 * Default number of workers a `hello` or `heartbeat` may list.
 *
 * @public
 */
export const DEFAULT_MAX_WORKERS = 256;

/**
 * Default maximum frame size in UTF-8 bytes (64 KiB).
 *
 * @public
 */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;

/**
 * Schema of the `hello` frame (data plane → control plane).
 *
 * @public
 */
export const helloSchema = helloSchemaWith(DEFAULT_MAX_WORKERS);

/**
 * Schema of the `heartbeat` frame (data plane → control plane).
 *
 * @public
 */
export const heartbeatSchema = heartbeatSchemaWith(DEFAULT_MAX_WORKERS);

/**
 * Schema of the `welcome` frame (control plane → data plane, after an accepted `hello`).
 *
 * @public
 */
export const welcomeSchema = z
  .object({
    type: z.literal('welcome'),
    protocol: protocolSchema,
    heartbeat_interval_ms: z.number().int().min(1).max(86_400_000),
    server_time: timeSchema,
  })
  .meta({
    title: 'welcome',
    description:
      'Sent by the control plane after an accepted hello: the heartbeat interval to use.',
  });

/**
 * Schema of the `error` frame (control plane → data plane, before a close).
 *
 * @public
 */
export const errorFrameSchema = z
  .object({
    type: z.literal('error'),
    code: z.string().min(1).max(ID_MAX),
    message: z.string().max(TEXT_MAX),
  })
  .meta({
    title: 'error',
    description: 'Sent by the control plane before it closes a session: why.',
  });

/** The `hello` frame. @public */
export type HelloFrame = z.output<typeof helloSchema>;
/** The `heartbeat` frame. @public */
export type HeartbeatFrame = z.output<typeof heartbeatSchema>;
/** The `welcome` frame. @public */
export type WelcomeFrame = z.output<typeof welcomeSchema>;
/** The `error` frame. @public */
export type ErrorFrame = z.output<typeof errorFrameSchema>;
/** Provenance as reported by a data plane. @public */
export type ReportedProvenance = z.output<typeof reportedProvenanceSchema>;
/** One worker's loaded artifact. @public */
export type WorkerReport = z.output<typeof workerReportSchema>;
/** A failed load. @public */
export type LoadError = z.output<typeof loadErrorSchema>;
/** What a live-configuration probe found (protocol v1.1). @public */
export type LiveConfigReport = z.output<typeof liveConfigSchema>;

/**
 * A verification check a data plane's policy tolerated (protocol v1.1, `verification_reasons`).
 *
 * @public
 */
export type VerificationReasonReport = z.output<typeof verificationReasonSchema>;

/**
 * A frame a data plane sends.
 *
 * @public
 */
export type DataPlaneFrame = HelloFrame | HeartbeatFrame;

/**
 * A frame a control plane sends.
 *
 * @public
 */
export type ControlPlaneFrame = WelcomeFrame | ErrorFrame;

/**
 * Limits applied by {@link parseDataPlaneFrame} and {@link parseControlPlaneFrame}.
 * Every limit is checked before the frame is parsed.
 *
 * @public
 */
export interface FrameLimits {
  /** Maximum frame size in UTF-8 bytes. Default {@link DEFAULT_MAX_FRAME_BYTES} (64 KiB). */
  readonly maxFrameBytes?: number;
  /** Maximum entries in `workers`. Default {@link DEFAULT_MAX_WORKERS}. */
  readonly maxWorkers?: number;
}

/**
 * The result of parsing a frame: a known frame, or a frame of a type this version does not know
 * (which the protocol says to ignore).
 *
 * @public
 */
export type ParsedFrame<F> =
  | { readonly kind: 'frame'; readonly frame: F }
  | { readonly kind: 'ignored'; readonly type: string };

/**
 * Whether a `protocol` value is a version this implementation speaks (`plumbline.drift/v1`, or a
 * newer minor version `plumbline.drift/v1.N` whose extra fields are ignored).
 *
 * @example
 * ```ts
 * isSupportedProtocol('plumbline.drift/v1'); // true
 * isSupportedProtocol('plumbline.drift/v2'); // false
 * ```
 * @public
 */
export function isSupportedProtocol(protocol: string): boolean {
  return protocol === DRIFT_PROTOCOL || /^plumbline\.drift\/v1\.\d{1,6}$/.test(protocol);
}

function checkSize(text: string, maxFrameBytes: number): void {
  // A UTF-16 code unit encodes to at most 3 UTF-8 bytes: count exactly only when it can matter.
  if (text.length <= maxFrameBytes / 3) return;
  if (text.length > maxFrameBytes || utf8Length(text) > maxFrameBytes) {
    throw new PlumblineError(
      'PLB_DRIFT_FRAME_TOO_BIG',
      `a drift frame is larger than the limit of ${maxFrameBytes} bytes`,
      { details: { limit: maxFrameBytes, close_code: DriftCloseCode.FrameTooBig } },
    );
  }
}

function malformed(message: string, cause?: unknown): PlumblineError {
  return new PlumblineError('PLB_DRIFT_MALFORMED', message, {
    details: { close_code: DriftCloseCode.Malformed },
    ...(cause === undefined ? {} : { cause }),
  });
}

function parseObject(text: string, limits: FrameLimits): Record<string, unknown> {
  checkSize(text, limits.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw malformed('a drift frame is not valid JSON', cause);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed('a drift frame is a JSON object');
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') throw malformed('a drift frame has a string "type"');
  return value as Record<string, unknown>;
}

function describeIssues(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid frame';
  const path = issue.path.length > 0 ? issue.path.join('.') : '(frame)';
  return `${path}: ${issue.message}`;
}

const schemaCache = new Map<
  number,
  { hello: typeof helloSchema; heartbeat: typeof heartbeatSchema }
>();

function schemasFor(maxWorkers: number): {
  hello: typeof helloSchema;
  heartbeat: typeof heartbeatSchema;
} {
  if (maxWorkers === DEFAULT_MAX_WORKERS) return { hello: helloSchema, heartbeat: heartbeatSchema };
  let cached = schemaCache.get(maxWorkers);
  if (cached === undefined) {
    if (schemaCache.size > 16) schemaCache.clear();
    cached = { hello: helloSchemaWith(maxWorkers), heartbeat: heartbeatSchemaWith(maxWorkers) };
    schemaCache.set(maxWorkers, cached);
  }
  return cached;
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** Timestamps already validated by the schema (heartbeats repeat their `loaded_at`). */
const validTimes = new Set<string>();

function validTime(value: string): boolean {
  if (validTimes.has(value)) return true;
  if (!timeSchema.safeParse(value).success) return false;
  if (validTimes.size >= 4096) validTimes.clear();
  validTimes.add(value);
  return true;
}

function validHash(value: unknown): value is DigestString | null {
  return value === null || (typeof value === 'string' && DIGEST_RE.test(value));
}

/**
 * The heartbeat hot path: accepts exactly what `heartbeatSchema` accepts for the common shapes
 * (without `last_load_error`, `live_config` or `verification_reasons`), producing the same output, without zod's per-field overhead.
 * Returns `null` to defer to the schema (which also produces the error message). A property test
 * keeps the two equal.
 *
 * @internal
 */
export function fastHeartbeat(
  value: Record<string, unknown>,
  maxWorkers: number,
): HeartbeatFrame | null {
  const seq = value['seq'];
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return null;
  const hash = value['artifact_hash'];
  if (!validHash(hash)) return null;
  const error = value['last_load_error'];
  if (error !== undefined && error !== null) return null;
  if (value['live_config'] !== undefined || value['verification_reasons'] !== undefined)
    return null;
  const loadedAt = value['loaded_at'];
  if (
    loadedAt !== undefined &&
    loadedAt !== null &&
    (typeof loadedAt !== 'string' || !validTime(loadedAt))
  ) {
    return null;
  }
  const rawWorkers = value['workers'];
  let workers: WorkerReport[] | undefined;
  if (rawWorkers !== undefined) {
    if (!Array.isArray(rawWorkers) || rawWorkers.length > maxWorkers) return null;
    workers = new Array<WorkerReport>(rawWorkers.length);
    for (let i = 0; i < rawWorkers.length; i++) {
      const w = rawWorkers[i] as { id?: unknown; artifact_hash?: unknown } | null;
      if (typeof w !== 'object' || w === null || Array.isArray(w)) return null;
      const id = w.id;
      if (typeof id !== 'string' || id.length === 0 || id.length > ID_MAX) return null;
      const h = w.artifact_hash;
      if (!validHash(h)) return null;
      workers[i] = { id, artifact_hash: h };
    }
  }
  const frame: { -readonly [K in keyof HeartbeatFrame]: HeartbeatFrame[K] } = {
    type: 'heartbeat',
    seq,
    artifact_hash: hash,
  };
  if (loadedAt !== undefined) frame.loaded_at = loadedAt as string | null;
  if (workers !== undefined) frame.workers = workers;
  if (error !== undefined) frame.last_load_error = null;
  return frame;
}

/**
 * Parses one frame a data plane sent (`hello` or `heartbeat`). Unknown fields are dropped;
 * unknown frame types come back as `{ kind: 'ignored' }`. The size limit is checked before
 * `JSON.parse`. Protocol version is *not* judged here (see {@link isSupportedProtocol}).
 *
 * @example
 * ```ts
 * const parsed = parseDataPlaneFrame('{"type":"heartbeat","seq":1,"artifact_hash":null}');
 * if (parsed.kind === 'frame' && parsed.frame.type === 'heartbeat') console.log(parsed.frame.seq);
 * ```
 * @throws {@link PlumblineError} `PLB_DRIFT_FRAME_TOO_BIG` over `maxFrameBytes`;
 *   `PLB_DRIFT_MALFORMED` for text that is not JSON or does not match the frame's schema.
 *   Both carry `details.close_code`.
 * @public
 */
export function parseDataPlaneFrame(
  text: string,
  limits: FrameLimits = {},
): ParsedFrame<DataPlaneFrame> {
  const value = parseObject(text, limits);
  const type = value['type'] as string;
  const schemas = schemasFor(limits.maxWorkers ?? DEFAULT_MAX_WORKERS);
  if (type === 'heartbeat') {
    const fast = fastHeartbeat(value, limits.maxWorkers ?? DEFAULT_MAX_WORKERS);
    if (fast !== null) return { kind: 'frame', frame: fast };
  }
  const schema = type === 'heartbeat' ? schemas.heartbeat : type === 'hello' ? schemas.hello : null;
  if (schema === null) return { kind: 'ignored', type: type.slice(0, 64) };
  const result = schema.safeParse(value);
  if (!result.success) throw malformed(`invalid ${type} frame: ${describeIssues(result.error)}`);
  return { kind: 'frame', frame: result.data };
}

/**
 * Parses one frame a control plane sent (`welcome` or `error`).
 *
 * @example
 * ```ts
 * const parsed = parseControlPlaneFrame(text);
 * if (parsed.kind === 'frame' && parsed.frame.type === 'welcome') console.log(parsed.frame.heartbeat_interval_ms);
 * ```
 * @throws {@link PlumblineError} `PLB_DRIFT_FRAME_TOO_BIG` or `PLB_DRIFT_MALFORMED`.
 * @public
 */
export function parseControlPlaneFrame(
  text: string,
  limits: FrameLimits = {},
): ParsedFrame<ControlPlaneFrame> {
  const value = parseObject(text, limits);
  const type = value['type'] as string;
  const schema = type === 'welcome' ? welcomeSchema : type === 'error' ? errorFrameSchema : null;
  if (schema === null) return { kind: 'ignored', type: type.slice(0, 64) };
  const result = schema.safeParse(value);
  if (!result.success) throw malformed(`invalid ${type} frame: ${describeIssues(result.error)}`);
  return { kind: 'frame', frame: result.data };
}

/** `live_config` with its fields in the documented order (docs/protocol.md). */
function liveInOrder(live: LiveConfigReport | undefined): LiveConfigReport | undefined {
  if (live === undefined) return undefined;
  return {
    probe: live.probe,
    status: live.status,
    digest: live.digest,
    expected_digest: live.expected_digest,
    differences: live.differences,
    pending: live.pending,
    code: live.code,
    message: live.message,
    at: live.at,
  } as LiveConfigReport;
}

/** `verification_reasons` with each reason's fields in the documented order. */
function reasonsInOrder(
  reasons: readonly VerificationReasonReport[] | undefined,
): VerificationReasonReport[] | undefined {
  return reasons?.map((r) => ({ rule: r.rule, code: r.code, message: r.message }));
}

/**
 * Encodes a frame as JSON text with the field order of docs/protocol.md. Optional fields that are
 * `undefined` are left out.
 *
 * @example
 * ```ts
 * encodeFrame({ type: 'error', code: 'PLB_DRIFT_IDENTITY_MISMATCH', message: 'node_id does not match' });
 * ```
 * @public
 */
export function encodeFrame(frame: DataPlaneFrame | ControlPlaneFrame): string {
  switch (frame.type) {
    case 'hello':
      return JSON.stringify({
        type: 'hello',
        protocol: frame.protocol,
        node_id: frame.node_id,
        cluster: frame.cluster,
        instance_id: frame.instance_id,
        artifact_hash: frame.artifact_hash,
        provenance: frame.provenance,
        loaded_at: frame.loaded_at,
        sdk: frame.sdk,
        workers: frame.workers,
        live_config: liveInOrder(frame.live_config),
        verification_reasons: reasonsInOrder(frame.verification_reasons),
      });
    case 'heartbeat':
      return JSON.stringify({
        type: 'heartbeat',
        seq: frame.seq,
        artifact_hash: frame.artifact_hash,
        loaded_at: frame.loaded_at,
        workers: frame.workers,
        last_load_error: frame.last_load_error,
        live_config: liveInOrder(frame.live_config),
        verification_reasons: reasonsInOrder(frame.verification_reasons),
      });
    case 'welcome':
      return JSON.stringify({
        type: 'welcome',
        protocol: frame.protocol,
        heartbeat_interval_ms: frame.heartbeat_interval_ms,
        server_time: frame.server_time,
      });
    case 'error':
      return JSON.stringify({ type: 'error', code: frame.code, message: frame.message });
  }
}

/**
 * JSON Schemas (draft 2020-12) of the four frames, as committed under `docs/protocol/`.
 * Unknown fields are allowed (receivers ignore them).
 *
 * @example
 * ```ts
 * const schemas = driftJsonSchemas();
 * console.log(Object.keys(schemas)); // ['hello', 'heartbeat', 'welcome', 'error']
 * ```
 * @public
 */
export function driftJsonSchemas(): Record<'hello' | 'heartbeat' | 'welcome' | 'error', unknown> {
  const opts = { io: 'input' as const, target: 'draft-2020-12' as const };
  return {
    hello: z.toJSONSchema(helloSchema, opts),
    heartbeat: z.toJSONSchema(heartbeatSchema, opts),
    welcome: z.toJSONSchema(welcomeSchema, opts),
    error: z.toJSONSchema(errorFrameSchema, opts),
  };
}
