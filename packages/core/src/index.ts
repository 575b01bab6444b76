/**
 * `@plumbline/core`: configuration provenance and drift detection for API gateway fleets.
 * The root entry re-exports the runtime-neutral modules; Node-only parts are in
 * `@plumbline/core/node`, the conformance suites in `@plumbline/core/testing`.
 *
 * @packageDocumentation
 * @mergeModuleWith <project>
 */
export { PlumblineError, type PlumblineErrorCode, type PlumblineErrorOptions } from './errors.js';
export { SDK_VERSION, SDK_ID } from './version.js';
export { limitOption, type LimitOptionRule } from './limit-option.js';
export * from './hash/index.js';
export * from './manifest/index.js';
export * from './merkle/index.js';
export * from './header/index.js';
export * from './signer/index.js';
export * from './container/index.js';
export * from './verify/index.js';
export * from './admin/index.js';
export * from './attest/index.js';
