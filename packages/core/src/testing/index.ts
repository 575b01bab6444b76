/**
 * `@plumbline/core/testing`: conformance suites that integrators run against their own
 * implementations of the extension interfaces (drift transports, fleet stores, sinks).
 * The suites register tests with the framework given (Vitest by default, imported lazily).
 *
 * @packageDocumentation
 */
export type { ConformanceOptions, ConformanceTestApi, ContractClause } from './api.js';
// The interfaces the signer and verifier suites check (a harness holds one of each).
export type { SignatureVerifier, Signer } from '../signer/types.js';
export { ConformanceError } from './api.js';
export * from './transport-conformance.js';
export * from './store-conformance.js';
export * from './sink-conformance.js';
export * from './state-rule-conformance.js';
export * from './probe-conformance.js';
export * from './alert-sink-conformance.js';
export * from './signer-conformance.js';
export * from './artifact-verifier-conformance.js';
