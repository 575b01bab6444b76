/**
 * Audit events: the versioned envelope and its JSON Schema, the typed event catalogue with
 * builders, the {@link AuditLogger} with redaction, deny-storm limiting and must-write /
 * best-effort delivery, runtime-neutral sinks, and the transparency-log format and verifier.
 * The file sink and the transparency-log writer are in `@plumbline/core/node`.
 *
 * @packageDocumentation
 */
export {
  AUDIT_SCHEMA_VERSION,
  auditEventSchema,
  traceFromTraceparent,
  formatAuditTime,
  type AuditEvent,
  type AuditEventInput,
  type AuditOutcome,
  type AuditSeverity,
  type AuditActor,
  type AuditSubject,
  type AuditTrace,
  type AuditSource,
} from './envelope.js';
export {
  auditDetailSchemas,
  isCatalogueType,
  provenanceRead,
  artifactLoaded,
  artifactVerificationFailed,
  desiredStateChanged,
  driftDetected,
  driftResolved,
  nodeStateChanged,
  expectedNodesChanged,
  rolloutStarted,
  rolloutCompleted,
  rolloutDeadlineExceeded,
  observedDropped,
  sessionAccepted,
  sessionRejected,
  policyDecision,
  credentialVended,
  eventsDropped,
  eventsSuppressed,
  type AuditEventType,
  type AuditDetailsOf,
  type AuditBuilderInput,
  type ProvenanceReadDetails,
  type ArtifactLoadedDetails,
  type ArtifactVerificationFailedDetails,
  type DesiredStateChangedDetails,
  type DriftDetectedDetails,
  type DriftResolvedDetails,
  type NodeStateChangedDetails,
  type ExpectedNodesChangedDetails,
  type RolloutStartedDetails,
  type RolloutCompletedDetails,
  type RolloutDeadlineExceededDetails,
  type ObservedDroppedDetails,
  type SessionAcceptedDetails,
  type SessionRejectedDetails,
  type PolicyDecisionDetails,
  type CredentialVendedDetails,
  type EventsDroppedDetails,
  type EventsSuppressedDetails,
} from './catalogue.js';
export type { AuditSink, AuditRecord, AuditDelivery } from './sink.js';
export {
  createAuditLogger,
  noopAuditLogger,
  type AuditLogger,
  type AuditLoggerOptions,
  type AuditLoggerMetrics,
  type AuditEmitResult,
  type AuditSinkBinding,
} from './logger.js';
export type { BestEffortQueueOptions } from './best-effort.js';
export type { AuditRateLimitOptions } from './rate-limit.js';
export {
  createRedactor,
  REDACTED,
  DEFAULT_DENIED_KEYS,
  type Redactor,
  type RedactionOptions,
} from './redact.js';
export { MemoryAuditSink, createMemoryAuditLogger } from './memory-sink.js';
export { createJsonLinesSink, type JsonLinesSinkOptions } from './json-lines-sink.js';
export { uuidv7, isUuidv7, uuidv7Time } from './uuid.js';
export {
  TransparencyLogAppender,
  checkpointSignedBody,
  TLOG_GENESIS_PREV,
  type TransparencyCheckpoint,
  type CheckpointSignature,
  type TransparencyLogState,
} from './transparency.js';
export {
  verifyTransparencyLog,
  proveAuditEvent,
  verifyAuditInclusionProof,
  type TamperKind,
  type TransparencyProblem,
  type TransparencyLogReport,
  type TransparencyVerifyOptions,
  type AuditInclusionProof,
} from './transparency-verify.js';
export { auditEventJsonSchema } from './json-schema.js';
export { createHttpBatchSink, type HttpBatchSinkOptions } from './http-sink.js';
