/**
 * Load-time verification: check an opened artifact under a policy (`off`, `warn`, `enforce`) and
 * remember what was really loaded, per process and per worker.
 *
 * @packageDocumentation
 */
export type {
  LoadMode,
  LoadRule,
  LoadPolicy,
  LoadCandidate,
  RuleResult,
  VerificationReason,
  SignatureSummary,
  VerificationStatus,
  VerificationOutcome,
  LoadedArtifact,
  LoadError,
} from './types.js';
export { DEFAULT_VERIFIER_TIMEOUT_MS } from './policy.js';
export { processInstanceId } from './instance.js';
export { verifyOnLoad, type VerifyOnLoadOptions, type LoadAuditEvent } from './verify-on-load.js';
export { loadVerified, type VerifiedLoad } from './load-verified.js';
export {
  LoadedArtifactRegistry,
  type LoadedArtifactRegistryOptions,
  type LoadedArtifactSnapshot,
  type LoadedArtifactSource,
  type WorkerArtifact,
} from './registry.js';
export { candidateFromBytes, type CandidateFromBytesOptions } from './candidate.js';
export { loadAuditHook, type LoadAuditHookOptions } from './audit.js';
