import { limitOption } from '@plumbline/core';
/**
 * Limits for reading an OCI image layout. Each is checked before the bytes are read or allocated.
 *
 * @public
 */
export interface OciLayoutLimits {
  /** Largest `index.json` (bytes). Default 1 MiB. */
  readonly maxIndexBytes: number;
  /** Largest image manifest or nested image index blob (bytes). Default 4 MiB. */
  readonly maxManifestBytes: number;
  /** Largest image configuration blob (bytes). Default 8 MiB. */
  readonly maxConfigBytes: number;
  /** Most descriptors in one index or layers in one manifest. Default 1024. */
  readonly maxDescriptors: number;
  /** Deepest chain of nested indexes. Default 4. */
  readonly maxIndexDepth: number;
  /** Largest compressed layer blob (bytes). Default 64 GiB. */
  readonly maxLayerBytes: number;
  /** Largest uncompressed layer (bytes), against decompression bombs. Default 256 GiB. */
  readonly maxUncompressedLayerBytes: number;
  /** Most tar entries in one layer. Default 4,000,000. */
  readonly maxLayerEntries: number;
  /**
   * Largest expansion of a compressed layer: it may decompress to at most this many times its
   * compressed size, plus 1 MiB. Default 2048 (gzip cannot exceed about 1032; a zstd bomb can).
   */
  readonly maxDecompressionRatio: number;
  /** Most uncompressed bytes read over all of an image's layers together. Default 512 GiB. */
  readonly maxUncompressedBytes: number;
}

/** The default {@link OciLayoutLimits}. @public */
export const DEFAULT_OCI_LAYOUT_LIMITS: OciLayoutLimits = Object.freeze({
  maxIndexBytes: 1024 * 1024,
  maxManifestBytes: 4 * 1024 * 1024,
  maxConfigBytes: 8 * 1024 * 1024,
  maxDescriptors: 1024,
  maxIndexDepth: 4,
  maxLayerBytes: 64 * 1024 ** 3,
  maxUncompressedLayerBytes: 256 * 1024 ** 3,
  maxLayerEntries: 4_000_000,
  maxDecompressionRatio: 2048,
  maxUncompressedBytes: 512 * 1024 ** 3,
});

/**
 * Merges user limits over the defaults, refusing values that are not non-negative integers.
 *
 * @throws {@link @plumbline/core#PlumblineError} `PLB_OCI_OPTIONS` naming the limit.
 * @internal
 */
export function resolveLimits(limits: Partial<OciLayoutLimits> | undefined): OciLayoutLimits {
  const merged: Record<string, number> = { ...DEFAULT_OCI_LAYOUT_LIMITS, ...limits };
  for (const [key, value] of Object.entries(merged)) {
    merged[key] = limitOption(value, { name: `limits.${key}`, code: 'PLB_OCI_OPTIONS', min: 0 });
  }
  return merged as unknown as OciLayoutLimits;
}
