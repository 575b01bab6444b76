import { z } from 'zod';
import type {
  AuditActor,
  AuditEventInput,
  AuditOutcome,
  AuditSeverity,
  AuditSource,
  AuditSubject,
  AuditTrace,
} from './envelope.js';
import { NODE_STATES, type NodeState } from '../drift/monitor/state.js';

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);
const name = z.string().min(1).max(512);
const time = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/);
const count = z.number().int().nonnegative();
/** The id of the fleet event (webhook `Plumbline-Event-Id`) an audit event records. */
const eventId = z.string().min(1).max(128);
const fleetState = z.enum(NODE_STATES as [NodeState, ...NodeState[]]);

/** What identifies a rollout: the cluster, the desired state it moves to, and its window. */
const rolloutFacts = {
  cluster: name,
  artifact_hash: digest,
  previous_hash: digest.nullable(),
  version: count,
  started_at: time,
  deadline: time,
  event_id: eventId.optional(),
};

/**
 * The per-type `details` schemas of the catalogue, keyed by event type. `validateAuditEvent` and
 * the JSON Schema export use them; unknown (custom) types keep free-form details.
 *
 * @public
 */
export const auditDetailSchemas = {
  'provenance.read': z
    .object({
      node_id: name.optional(),
      artifact_hash: digest.nullable(),
      path: z.string().max(2048),
      status: z.number().int().min(100).max(599),
    })
    .strict(),
  'artifact.loaded': z
    .object({
      artifact_hash: digest,
      artifact_digest: digest.optional(),
      path: z.string().max(4096).optional(),
      signature: z.enum(['valid', 'absent', 'not_required', 'unverified']),
      signer: z.string().max(2048).optional(),
      legacy: z.boolean().optional(),
    })
    .strict(),
  'artifact.verification_failed': z
    .object({
      artifact_hash: digest.nullable(),
      artifact_digest: digest.optional(),
      path: z.string().max(4096).optional(),
      stage: z.enum(['container', 'header', 'manifest', 'payload', 'signature', 'policy']),
      code: z.string().regex(/^PLB_[A-Z0-9_]+$/),
      message: z.string().max(4096),
    })
    .strict(),
  'desired_state.changed': z
    .object({
      cluster: name,
      previous_hash: digest.nullable(),
      artifact_hash: digest.nullable(),
      deadline_seconds: count.optional(),
      event_id: eventId.optional(),
    })
    .strict(),
  'drift.detected': z
    .object({
      node_id: name,
      cluster: name,
      reported_hash: digest.nullable(),
      desired_hash: digest.nullable(),
      instance_id: name.optional(),
      event_id: eventId.optional(),
    })
    .strict(),
  'drift.resolved': z
    .object({
      node_id: name,
      cluster: name,
      reported_hash: digest.nullable(),
      desired_hash: digest.nullable(),
      instance_id: name.optional(),
      drift_duration_ms: count.optional(),
      event_id: eventId.optional(),
    })
    .strict(),
  'fleet.node_state_changed': z
    .object({
      node_id: name,
      cluster: name,
      from: fleetState.nullable(),
      to: fleetState,
      reported_hash: digest.nullable().optional(),
      desired_hash: digest.nullable().optional(),
      instance_id: name.optional(),
      drift_duration_ms: count.optional(),
      event_id: eventId.optional(),
    })
    .strict(),
  'fleet.expected_nodes_changed': z
    .object({
      cluster: name,
      added: z.array(name).max(100_000),
      removed: z.array(name).max(100_000),
    })
    .strict(),
  'fleet.rollout_started': z.object(rolloutFacts).strict(),
  'fleet.rollout_completed': z.object(rolloutFacts).strict(),
  'fleet.rollout_deadline_exceeded': z
    .object({ ...rolloutFacts, lagging: count, lagging_nodes: z.array(name).max(100) })
    .strict(),
  'fleet.observed_dropped': z
    .object({
      store: name,
      dropped_count: count,
      buffer_limit: count,
      first_dropped_at: time,
      last_dropped_at: time,
    })
    .strict(),
  'session.accepted': z
    .object({
      node_id: name,
      cluster: name,
      instance_id: name.optional(),
      protocol: name,
    })
    .strict(),
  'session.rejected': z
    .object({
      reason_code: z.enum([
        'unauthenticated',
        'identity_mismatch',
        'protocol_mismatch',
        'malformed',
        'timeout',
        'rate_limited',
        'replaced',
        'too_large',
        'transport_fault',
      ]),
      close_code: z.number().int().min(1000).max(4999).optional(),
      claimed_node_id: z.string().max(512).optional(),
      claimed_cluster: z.string().max(512).optional(),
    })
    .strict(),
  'policy.decision': z
    .object({
      decision: z.enum(['allow', 'deny']),
      requester_spiffe_id: z.string().max(2048),
      capability: name,
      policy_version: name,
      evaluation_ms: z.number().nonnegative(),
      trace_id: z
        .string()
        .regex(/^[0-9a-f]{32}$/)
        .optional(),
      decision_id: name.optional(),
    })
    .strict(),
  'credential.vended': z
    .object({
      credential_type: name,
      requester_spiffe_id: z.string().max(2048).optional(),
      audience: z.string().max(2048).optional(),
      scopes: z.array(name).max(1000).optional(),
      expires_at: time,
      credential_fingerprint: z.string().max(256).optional(),
    })
    .strict(),
  'audit.events_dropped': z
    .object({
      sink: name,
      dropped_count: count,
      queue_full_count: count,
      write_failed_count: count,
      first_dropped_at: time,
      last_dropped_at: time,
    })
    .strict(),
  'audit.events_suppressed': z
    .object({
      suppressed_type: name,
      suppressed_outcome: z.enum(['success', 'failure', 'allow', 'deny']),
      suppressed_actor: name,
      suppressed_count: count,
      window_start: time,
      window_end: time,
    })
    .strict(),
} as const;

/**
 * Every event type in the catalogue.
 *
 * @public
 */
export type AuditEventType = keyof typeof auditDetailSchemas;

/**
 * The `details` of each catalogue type.
 *
 * @public
 */
export type AuditDetailsOf<T extends AuditEventType> = z.infer<(typeof auditDetailSchemas)[T]>;

/** `provenance.read` details. @public */
export type ProvenanceReadDetails = AuditDetailsOf<'provenance.read'>;
/** `artifact.loaded` details. @public */
export type ArtifactLoadedDetails = AuditDetailsOf<'artifact.loaded'>;
/** `artifact.verification_failed` details. @public */
export type ArtifactVerificationFailedDetails = AuditDetailsOf<'artifact.verification_failed'>;
/** `desired_state.changed` details. @public */
export type DesiredStateChangedDetails = AuditDetailsOf<'desired_state.changed'>;
/** `drift.detected` details. @public */
export type DriftDetectedDetails = AuditDetailsOf<'drift.detected'>;
/** `drift.resolved` details. @public */
export type DriftResolvedDetails = AuditDetailsOf<'drift.resolved'>;
/** `fleet.node_state_changed` details. @public */
export type NodeStateChangedDetails = AuditDetailsOf<'fleet.node_state_changed'>;
/** `fleet.expected_nodes_changed` details. @public */
export type ExpectedNodesChangedDetails = AuditDetailsOf<'fleet.expected_nodes_changed'>;
/** `fleet.rollout_started` details. @public */
export type RolloutStartedDetails = AuditDetailsOf<'fleet.rollout_started'>;
/** `fleet.rollout_completed` details. @public */
export type RolloutCompletedDetails = AuditDetailsOf<'fleet.rollout_completed'>;
/** `fleet.rollout_deadline_exceeded` details. @public */
export type RolloutDeadlineExceededDetails = AuditDetailsOf<'fleet.rollout_deadline_exceeded'>;
/** `fleet.observed_dropped` details. @public */
export type ObservedDroppedDetails = AuditDetailsOf<'fleet.observed_dropped'>;
/** `session.accepted` details. @public */
export type SessionAcceptedDetails = AuditDetailsOf<'session.accepted'>;
/** `session.rejected` details. @public */
export type SessionRejectedDetails = AuditDetailsOf<'session.rejected'>;
/** `policy.decision` details. @public */
export type PolicyDecisionDetails = AuditDetailsOf<'policy.decision'>;
/** `credential.vended` details. @public */
export type CredentialVendedDetails = AuditDetailsOf<'credential.vended'>;
/** `audit.events_dropped` details. @public */
export type EventsDroppedDetails = AuditDetailsOf<'audit.events_dropped'>;
/** `audit.events_suppressed` details. @public */
export type EventsSuppressedDetails = AuditDetailsOf<'audit.events_suppressed'>;

/**
 * The envelope fields a builder accepts next to the type's `details`.
 *
 * @public
 */
export interface AuditBuilderInput<TDetails> {
  /** The authenticated principal (never a token). */
  readonly actor: AuditActor;
  /** The type-specific fields, checked against the catalogue's schema for the type. */
  readonly details: TDetails;
  /** Default: derived from `details` (the node, cluster or artifact acted on). */
  readonly subject?: AuditSubject;
  /** Default: the type's usual outcome (shown on each builder). */
  readonly outcome?: AuditOutcome;
  /** Default: the type's usual severity for the outcome. */
  readonly severity?: AuditSeverity;
  /** Why it happened or why it was refused, in words. Absent when there is nothing to say. */
  readonly reason?: string;
  /** The W3C Trace Context of the request that caused the event, when there is one. */
  readonly trace?: AuditTrace;
  /** The tenant the event belongs to. Default: the logger's `tenant`, if any. */
  readonly tenant?: string;
  /** Overrides the time (RFC 3339 UTC with milliseconds, or a `Date`); default: now. */
  readonly time?: string | Date;
  /** Overrides the logger's source for this event. */
  readonly source?: AuditSource;
}

function build<T extends AuditEventType>(
  type: T,
  input: AuditBuilderInput<AuditDetailsOf<T>>,
  defaults: { outcome: AuditOutcome; severity: (o: AuditOutcome) => AuditSeverity },
  subject: AuditSubject | undefined,
): AuditEventInput<T, AuditDetailsOf<T>> {
  const outcome = input.outcome ?? defaults.outcome;
  const s = input.subject ?? subject;
  return {
    type,
    outcome,
    severity: input.severity ?? defaults.severity(outcome),
    actor: input.actor,
    details: input.details,
    ...(s === undefined ? {} : { subject: s }),
    ...(input.reason === undefined ? {} : { reason: input.reason }),
    ...(input.trace === undefined ? {} : { trace: input.trace }),
    ...(input.tenant === undefined ? {} : { tenant: input.tenant }),
    ...(input.time === undefined ? {} : { time: input.time }),
    ...(input.source === undefined ? {} : { source: input.source }),
  };
}

const okInfo = (o: AuditOutcome): AuditSeverity =>
  o === 'success' || o === 'allow' ? 'info' : 'medium';

/**
 * `provenance.read`: someone read a node's provenance (`GET /_admin/provenance`). Outcome
 * `success` by default; `deny` when authentication or authorization refused the read.
 *
 * @example
 * ```ts
 * import { provenanceRead } from '@plumbline/core/audit';
 * await audit.emit(provenanceRead({
 *   actor: { type: 'service', id: 'admin-token:ops' },
 *   details: { node_id: 'gw-1', artifact_hash: null, path: '/_admin/provenance', status: 200 },
 * }));
 * ```
 * @public
 */
export function provenanceRead(
  input: AuditBuilderInput<ProvenanceReadDetails>,
): AuditEventInput<'provenance.read', ProvenanceReadDetails> {
  const node = input.details.node_id;
  return build(
    'provenance.read',
    input,
    { outcome: 'success', severity: okInfo },
    node ? { type: 'node', id: node } : undefined,
  );
}

/**
 * `artifact.loaded`: a data plane loaded a verified (or legacy) artifact.
 *
 * @example
 * ```ts
 * await audit.emit(artifactLoaded({
 *   actor: { type: 'node', id: 'gw-1' },
 *   details: { artifact_hash: 'sha256:' + 'ab'.repeat(32), signature: 'valid' },
 * }));
 * ```
 * @public
 */
export function artifactLoaded(
  input: AuditBuilderInput<ArtifactLoadedDetails>,
): AuditEventInput<'artifact.loaded', ArtifactLoadedDetails> {
  return build(
    'artifact.loaded',
    input,
    { outcome: 'success', severity: okInfo },
    { type: 'artifact', id: input.details.artifact_hash },
  );
}

/**
 * `artifact.verification_failed`: load-time verification refused an artifact (outcome `failure`,
 * severity `high`).
 *
 * @example
 * ```ts
 * await audit.emit(artifactVerificationFailed({
 *   actor: { type: 'node', id: 'gw-1' },
 *   details: { artifact_hash: null, stage: 'header', code: 'PLB_HEADER_TRUNCATED', message: 'header truncated' },
 * }));
 * ```
 * @public
 */
export function artifactVerificationFailed(
  input: AuditBuilderInput<ArtifactVerificationFailedDetails>,
): AuditEventInput<'artifact.verification_failed', ArtifactVerificationFailedDetails> {
  const h = input.details.artifact_hash ?? input.details.artifact_digest;
  return build(
    'artifact.verification_failed',
    input,
    { outcome: 'failure', severity: () => 'high' },
    h ? { type: 'artifact', id: h } : undefined,
  );
}

/**
 * `desired_state.changed`: an operator changed a cluster's desired artifact (put the why in
 * `reason`).
 *
 * @example
 * ```ts
 * await audit.emit(desiredStateChanged({
 *   actor: { type: 'user', id: 'admin' },
 *   reason: 'roll out build 412',
 *   details: { cluster: 'prod-eu', previous_hash: null, artifact_hash: 'sha256:' + 'ab'.repeat(32) },
 * }));
 * ```
 * @public
 */
export function desiredStateChanged(
  input: AuditBuilderInput<DesiredStateChangedDetails>,
): AuditEventInput<'desired_state.changed', DesiredStateChangedDetails> {
  return build(
    'desired_state.changed',
    input,
    { outcome: 'success', severity: () => 'low' },
    { type: 'cluster', id: input.details.cluster },
  );
}

/**
 * `drift.detected`: a node reports an artifact other than its cluster's desired one (severity
 * `high`).
 *
 * @example
 * ```ts
 * await audit.emit(driftDetected({
 *   actor: { type: 'system', id: 'fleet-monitor' },
 *   details: { node_id: 'gw-1', cluster: 'prod-eu', reported_hash: null, desired_hash: null },
 * }));
 * ```
 * @public
 */
export function driftDetected(
  input: AuditBuilderInput<DriftDetectedDetails>,
): AuditEventInput<'drift.detected', DriftDetectedDetails> {
  return build(
    'drift.detected',
    input,
    { outcome: 'success', severity: () => 'high' },
    { type: 'node', id: input.details.node_id },
  );
}

/**
 * `drift.resolved`: a drifting node runs its desired artifact again.
 *
 * @example
 * ```ts
 * await audit.emit(driftResolved({
 *   actor: { type: 'system', id: 'fleet-monitor' },
 *   details: { node_id: 'gw-1', cluster: 'prod-eu', reported_hash: null, desired_hash: null },
 * }));
 * ```
 * @public
 */
export function driftResolved(
  input: AuditBuilderInput<DriftResolvedDetails>,
): AuditEventInput<'drift.resolved', DriftResolvedDetails> {
  return build(
    'drift.resolved',
    input,
    { outcome: 'success', severity: () => 'info' },
    { type: 'node', id: input.details.node_id },
  );
}

/**
 * `fleet.node_state_changed`: any fleet state transition of a node (`in_sync`, `drift`,
 * `pending`, `rejected`, `unknown`, `stale`, `disconnected`, `never_seen`, `awaiting_report`). Severity `medium`
 * for transitions into `drift`, `rejected`, `stale` and `disconnected`, otherwise `info`.
 *
 * @example
 * ```ts
 * await audit.emit(nodeStateChanged({
 *   actor: { type: 'system', id: 'fleet-monitor' },
 *   details: { node_id: 'gw-1', cluster: 'prod-eu', from: 'in_sync', to: 'stale' },
 * }));
 * ```
 * @public
 */
export function nodeStateChanged(
  input: AuditBuilderInput<NodeStateChangedDetails>,
): AuditEventInput<'fleet.node_state_changed', NodeStateChangedDetails> {
  const bad = ['drift', 'rejected', 'stale', 'disconnected'].includes(input.details.to);
  return build(
    'fleet.node_state_changed',
    input,
    { outcome: 'success', severity: () => (bad ? 'medium' : 'info') },
    { type: 'node', id: input.details.node_id },
  );
}

/**
 * `fleet.expected_nodes_changed`: an operator changed the nodes a cluster expects.
 *
 * @example
 * ```ts
 * await audit.emit(expectedNodesChanged({
 *   actor: { type: 'user', id: 'admin' },
 *   details: { cluster: 'prod-eu', added: ['gw-3'], removed: [] },
 * }));
 * ```
 * @public
 */
export function expectedNodesChanged(
  input: AuditBuilderInput<ExpectedNodesChangedDetails>,
): AuditEventInput<'fleet.expected_nodes_changed', ExpectedNodesChangedDetails> {
  return build(
    'fleet.expected_nodes_changed',
    input,
    { outcome: 'success', severity: () => 'low' },
    { type: 'cluster', id: input.details.cluster },
  );
}

/**
 * `fleet.rollout_started`: a desired state with a rollout window was set (written once, by the
 * control plane that set it; `event_id` is the `desired_state.changed` alert's id).
 *
 * @example
 * ```ts
 * await audit.emit(rolloutStarted({
 *   actor: { type: 'system', id: 'fleet-monitor' },
 *   details: { cluster: 'prod-eu', artifact_hash: next, previous_hash: prev, version: 7,
 *     started_at: '2026-01-01T00:00:00.000Z', deadline: '2026-01-01T00:10:00.000Z' },
 * }));
 * ```
 * @public
 */
export function rolloutStarted(
  input: AuditBuilderInput<RolloutStartedDetails>,
): AuditEventInput<'fleet.rollout_started', RolloutStartedDetails> {
  return build(
    'fleet.rollout_started',
    input,
    { outcome: 'success', severity: () => 'info' },
    { type: 'cluster', id: input.details.cluster },
  );
}

/**
 * `fleet.rollout_completed`: every judged node of the cluster runs the new artifact before the
 * deadline (written once fleet-wide; `event_id` is the `rollout.completed` alert's id).
 *
 * @example
 * ```ts
 * await audit.emit(rolloutCompleted({ actor: { type: 'system', id: 'fleet-monitor' }, details }));
 * ```
 * @public
 */
export function rolloutCompleted(
  input: AuditBuilderInput<RolloutCompletedDetails>,
): AuditEventInput<'fleet.rollout_completed', RolloutCompletedDetails> {
  return build(
    'fleet.rollout_completed',
    input,
    { outcome: 'success', severity: () => 'info' },
    { type: 'cluster', id: input.details.cluster },
  );
}

/**
 * `fleet.rollout_deadline_exceeded`: the deadline passed with nodes still lagging (written once
 * fleet-wide; `event_id` is the `rollout.deadline_exceeded` alert's id). Outcome `failure`,
 * severity `medium`.
 *
 * @example
 * ```ts
 * await audit.emit(rolloutDeadlineExceeded({ actor: { type: 'system', id: 'fleet-monitor' },
 *   details: { ...rollout, lagging: 2, lagging_nodes: ['gw-3', 'gw-9'] } }));
 * ```
 * @public
 */
export function rolloutDeadlineExceeded(
  input: AuditBuilderInput<RolloutDeadlineExceededDetails>,
): AuditEventInput<'fleet.rollout_deadline_exceeded', RolloutDeadlineExceededDetails> {
  return build(
    'fleet.rollout_deadline_exceeded',
    input,
    { outcome: 'failure', severity: () => 'medium' },
    { type: 'cluster', id: input.details.cluster },
  );
}

/**
 * `fleet.observed_dropped`: while its store was unreachable, a control plane dropped observed-state
 * updates beyond the store's buffer bound; one summary per outage, written when the store is back
 * (no node ids). Outcome `failure`, severity `medium`.
 *
 * @example
 * ```ts
 * await audit.emit(observedDropped({ actor: { type: 'system', id: 'fleet-monitor' },
 *   details: { store: 'postgres', dropped_count: 120, buffer_limit: 100000, first_dropped_at: t0, last_dropped_at: t1 } }));
 * ```
 * @public
 */
export function observedDropped(
  input: AuditBuilderInput<ObservedDroppedDetails>,
): AuditEventInput<'fleet.observed_dropped', ObservedDroppedDetails> {
  return build(
    'fleet.observed_dropped',
    input,
    { outcome: 'failure', severity: () => 'medium' },
    { type: 'store', id: input.details.store },
  );
}

/**
 * `session.accepted`: the control plane accepted a data plane's authenticated session.
 *
 * @example
 * ```ts
 * await audit.emit(sessionAccepted({
 *   actor: { type: 'node', id: 'gw-1' },
 *   details: { node_id: 'gw-1', cluster: 'prod-eu', protocol: 'plumbline.drift/v1' },
 * }));
 * ```
 * @public
 */
export function sessionAccepted(
  input: AuditBuilderInput<SessionAcceptedDetails>,
): AuditEventInput<'session.accepted', SessionAcceptedDetails> {
  return build(
    'session.accepted',
    input,
    { outcome: 'allow', severity: okInfo },
    { type: 'node', id: input.details.node_id },
  );
}

/**
 * `session.rejected`: the control plane refused a session (authentication failure, identity
 * mismatch, protocol, timeout, rate limit). Outcome `deny`, severity `medium`. The actor is
 * whoever authenticated (or `{ type: 'anonymous', id: 'anonymous' }`); claims a node made are
 * recorded as claims, never as the actor.
 *
 * @example
 * ```ts
 * await audit.emit(sessionRejected({
 *   actor: { type: 'anonymous', id: 'anonymous', address: '10.0.0.7' },
 *   details: { reason_code: 'unauthenticated', close_code: 4401 },
 * }));
 * ```
 * @public
 */
export function sessionRejected(
  input: AuditBuilderInput<SessionRejectedDetails>,
): AuditEventInput<'session.rejected', SessionRejectedDetails> {
  return build(
    'session.rejected',
    input,
    { outcome: 'deny', severity: () => 'medium' },
    input.details.claimed_node_id ? { type: 'node', id: input.details.claimed_node_id } : undefined,
  );
}

/**
 * `policy.decision`: a capability decision (the shape an OPA-backed capability controller emits).
 * The outcome follows `details.decision`; the trace id is copied into the envelope's `trace` when
 * no trace is given.
 *
 * @example
 * ```ts
 * await audit.emit(policyDecision({
 *   actor: { type: 'service', id: 'spiffe://prod/ns/pay/sa/api', spiffe_id: 'spiffe://prod/ns/pay/sa/api' },
 *   details: { decision: 'deny', requester_spiffe_id: 'spiffe://prod/ns/pay/sa/api', capability: 'config:write', policy_version: 'v12', evaluation_ms: 0.42 },
 * }));
 * ```
 * @public
 */
export function policyDecision(
  input: AuditBuilderInput<PolicyDecisionDetails>,
): AuditEventInput<'policy.decision', PolicyDecisionDetails> {
  const traceId = input.details.trace_id;
  const withTrace =
    input.trace === undefined && traceId !== undefined
      ? { ...input, trace: { trace_id: traceId } }
      : input;
  return build(
    'policy.decision',
    { ...withTrace, outcome: input.outcome ?? input.details.decision },
    { outcome: input.details.decision, severity: okInfo },
    { type: 'capability', id: input.details.capability },
  );
}

/**
 * `credential.vended`: a short-lived credential was issued. Record its type, audience, scopes,
 * expiry and at most a fingerprint, never the credential itself (redaction would remove it anyway).
 *
 * @example
 * ```ts
 * await audit.emit(credentialVended({
 *   actor: { type: 'service', id: 'vendor' },
 *   details: { credential_type: 'jwt-svid', audience: 'gateway', expires_at: '2026-01-01T00:05:00Z' },
 * }));
 * ```
 * @public
 */
export function credentialVended(
  input: AuditBuilderInput<CredentialVendedDetails>,
): AuditEventInput<'credential.vended', CredentialVendedDetails> {
  const who = input.details.requester_spiffe_id;
  return build(
    'credential.vended',
    input,
    { outcome: 'success', severity: () => 'low' },
    who ? { type: 'workload', id: who } : undefined,
  );
}

/**
 * `audit.events_dropped`: a best-effort sink lost events (queue full or write failures); written
 * when the sink recovers, so no drop goes unrecorded. The logger emits these itself.
 *
 * @example
 * ```ts
 * eventsDropped({ actor: { type: 'system', id: 'audit' }, details: { sink: 'http', dropped_count: 3, queue_full_count: 3, write_failed_count: 0, first_dropped_at: t0, last_dropped_at: t1 } });
 * ```
 * @public
 */
export function eventsDropped(
  input: AuditBuilderInput<EventsDroppedDetails>,
): AuditEventInput<'audit.events_dropped', EventsDroppedDetails> {
  return build(
    'audit.events_dropped',
    input,
    { outcome: 'failure', severity: () => 'high' },
    { type: 'sink', id: input.details.sink },
  );
}

/**
 * `audit.events_suppressed`: the deny-storm limiter suppressed `suppressed_count` events of one
 * (type, actor, outcome) key in a window. The logger emits these itself.
 *
 * @example
 * ```ts
 * eventsSuppressed({ actor: { type: 'system', id: 'audit' }, details: { suppressed_type: 'session.rejected', suppressed_outcome: 'deny', suppressed_actor: 'anonymous', suppressed_count: 950, window_start: t0, window_end: t1 } });
 * ```
 * @public
 */
export function eventsSuppressed(
  input: AuditBuilderInput<EventsSuppressedDetails>,
): AuditEventInput<'audit.events_suppressed', EventsSuppressedDetails> {
  return build(
    'audit.events_suppressed',
    input,
    { outcome: 'success', severity: () => 'medium' },
    { type: 'actor', id: input.details.suppressed_actor },
  );
}

/**
 * Whether `type` is one of the catalogue's types.
 *
 * @example
 * ```ts
 * isCatalogueType('drift.detected'); // true
 * ```
 * @public
 */
export function isCatalogueType(type: string): type is AuditEventType {
  return Object.hasOwn(auditDetailSchemas, type);
}
