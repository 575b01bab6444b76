/**
 * The provenance header: schema, builders and deterministic CBOR encoding.
 *
 * @packageDocumentation
 */
export {
  HEADER_FORMAT,
  type HeaderFormat,
  type HeaderValue,
  type ProvenanceHeader,
  type Provenance,
  type BuilderInfo,
  type PayloadInfo,
} from './types.js';
export { headerSchema, headerEntrySchema, headerJsonSchema } from './schema.js';
export {
  encodeHeader,
  decodeHeader,
  parseHeader,
  headerDigest,
  headerToJson,
  DEFAULT_HEADER_LIMITS,
  type HeaderLimits,
} from './codec.js';
export { createHeader, type CreateHeaderOptions, type PayloadInput } from './create.js';
export { checkHeader, type CheckHeaderOptions, type HeaderProblem } from './check.js';
export { normalizeProvenance, type ProvenanceInput } from './provenance.js';
export {
  resolveBuildTimestamp,
  normalizeTimestamp,
  timestampFromSourceDateEpoch,
  isHeaderTimestamp,
  type BuildTimestampOptions,
} from './timestamp.js';
export type { CborLimits } from '../cbor/limits.js';
