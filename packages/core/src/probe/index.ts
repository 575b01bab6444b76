/**
 * `@plumbline/core/probe`: ask a running gateway what configuration it runs now, in a canonical
 * form (RFC 8785 JSON, normalised NGINX/HAProxy text) with secrets redacted, and compare it with
 * what a sealed artifact says. Runtime-neutral; the command, NGINX and HAProxy probes are in
 * `@plumbline/core/probe/node`.
 *
 * @packageDocumentation
 */
export type {
  CanonicalConfig,
  CanonicalFormat,
  LiveConfigProbe,
  ProbeLimits,
  ProbeResult,
} from './probe.js';
export { DEFAULT_PROBE_LIMITS } from './probe.js';
export { canonicalJson, parseJsonBounded, type JsonValue } from './jcs.js';
export { normaliseConfigText, type ConfigTextDialect } from './text-config.js';
export {
  canonicalizeJson,
  canonicalizeJsonValue,
  canonicalizeText,
  canonicalizeBytes,
  type CanonicalizeOptions,
} from './canonical.js';
export { createSecretRedactor, type SecretRedactor } from './redact.js';
export { resolveJsonPointer, withoutMembers } from './json-pointer.js';
export { describeDifferences, DEFAULT_MAX_DIFFERENCES } from './differences.js';
export {
  createHttpJsonProbe,
  createCaddyProbe,
  type HttpJsonProbeOptions,
  type CaddyProbeOptions,
} from './http-json.js';
export { compareLiveConfig, type LiveConfigReport } from './compare.js';
export {
  watchLiveConfig,
  type WatchLiveConfigOptions,
  type LiveConfigWatch,
} from './live-config-watch.js';
