import { limitOption } from '../limit-option.js';
/**
 * Limits applied while decoding deterministic CBOR. Every limit is checked against the length a
 * CBOR head claims, before anything of that length is allocated.
 *
 * @public
 */
export interface CborLimits {
  /** Largest encoded document, in bytes. Default 64 MiB. */
  readonly maxBytes?: number;
  /** Largest number of items in one array or pairs in one map. Default 1,000,000. */
  readonly maxEntries?: number;
  /** Largest number of data items in the whole document. Default 16,000,000. */
  readonly maxItems?: number;
  /** Largest text or byte string, in bytes. Default 1 MiB. */
  readonly maxStringLength?: number;
  /** Deepest nesting of arrays and maps (the top level is depth 1). Default 32. */
  readonly maxDepth?: number;
  /**
   * Largest memory the decoded value may take, as a multiple of the document's size (plus
   * 64 KiB), estimated by the structural scan before anything is built. Default 6: a document of
   * many tiny items (empty maps, one-byte integers) is refused instead of growing 40-fold in memory.
   */
  readonly maxExpansion?: number;
}

/** Resolved limits with every field present. @internal */
export type ResolvedCborLimits = Required<CborLimits>;

/** The default decoding limits. @public */
export const DEFAULT_CBOR_LIMITS: ResolvedCborLimits = Object.freeze({
  maxBytes: 64 * 1024 * 1024,
  maxEntries: 1_000_000,
  maxItems: 16_000_000,
  maxStringLength: 1024 * 1024,
  maxDepth: 32,
  maxExpansion: 6,
});

/**
 * Fills in defaults and checks each limit (a positive integer; `maxExpansion` a positive number).
 *
 * @throws {@link PlumblineError} `PLB_INVALID_OPTION` naming the limit.
 * @internal
 */
export function resolveCborLimits(limits: CborLimits = {}): ResolvedCborLimits {
  const d = DEFAULT_CBOR_LIMITS;
  const code = 'PLB_INVALID_OPTION';
  return {
    maxBytes: limitOption(limits.maxBytes, { name: 'maxBytes', code, fallback: d.maxBytes }),
    maxEntries: limitOption(limits.maxEntries, {
      name: 'maxEntries',
      code,
      fallback: d.maxEntries,
    }),
    maxItems: limitOption(limits.maxItems, { name: 'maxItems', code, fallback: d.maxItems }),
    maxStringLength: limitOption(limits.maxStringLength, {
      name: 'maxStringLength',
      code,
      fallback: d.maxStringLength,
    }),
    maxDepth: limitOption(limits.maxDepth, { name: 'maxDepth', code, fallback: d.maxDepth }),
    maxExpansion: limitOption(limits.maxExpansion, {
      name: 'maxExpansion',
      code,
      fallback: d.maxExpansion,
      integer: false,
    }),
  };
}
