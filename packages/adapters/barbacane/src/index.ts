/**
 * `@plumbline/barbacane`: read Barbacane `.bca` artifacts (bounded), check their checksums and
 * Barbacane's own `artifact_hash`, seal them with a Plumbline provenance header, and monitor
 * unmodified Barbacane data planes through their WebSocket protocol.
 *
 * @packageDocumentation
 */
export * from './schema.js';
export * from './read.js';
export * from './artifact-hash.js';
export * from './seal.js';
export * from './load.js';
export * from './protocol.js';
export {
  hashBarbacaneKey,
  loadBarbacaneCredentials,
  type BarbacaneCredential,
} from './credentials.js';
export * from './transport.js';
