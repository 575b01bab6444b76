/**
 * Deterministic CBOR (RFC 8949 §4.2.1) in plain JavaScript: canonical encoding and strict,
 * limit-checked decoding. Internal to `@plumbline/core`.
 *
 * @packageDocumentation
 */
export { encodeCanonical, sortKeysCanonical } from './encode.js';
export { utf8Length } from '../encoding/utf8.js';
export { decodeCanonical, type DecodeCanonicalOptions } from './decode.js';
export { scanCbor, decodedCost, type ScanOptions, type ScanResult } from './scan.js';
export {
  DEFAULT_CBOR_LIMITS,
  resolveCborLimits,
  type CborLimits,
  type ResolvedCborLimits,
} from './limits.js';
export type { CborValue } from './value.js';
