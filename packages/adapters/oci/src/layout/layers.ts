import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { PlumblineError } from '@plumbline/core';
import { assertDigest, blobPath, openBlob } from './blobs.js';
import { OCI_MEDIA_TYPES, type OciDescriptor } from './descriptor.js';
import type { OciLayoutLimits } from './limits.js';

type Compression = 'none' | 'gzip' | 'zstd';

const COMPRESSION: Record<string, Compression> = {
  [OCI_MEDIA_TYPES.layerTar]: 'none',
  [OCI_MEDIA_TYPES.layerGzip]: 'gzip',
  [OCI_MEDIA_TYPES.layerZstd]: 'zstd',
  [OCI_MEDIA_TYPES.dockerLayerGzip]: 'gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar': 'none',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd': 'zstd',
};

type ZstdFactory = () => Transform;

/**
 * The runtime's zstd decompressor, when it has one (`node:zlib` gained zstd in Node 22.15/23.8).
 *
 * @internal
 */
export function zstdDecompressor(): ZstdFactory | undefined {
  const candidate = (zlib as unknown as { createZstdDecompress?: ZstdFactory })
    .createZstdDecompress;
  return typeof candidate === 'function' ? () => candidate() : undefined;
}

/**
 * Whether this runtime can read zstd-compressed layers.
 *
 * @example
 * ```ts
 * if (!supportsZstdLayers()) console.warn('zstd layers need Node >= 22.15');
 * ```
 * @public
 */
export function supportsZstdLayers(): boolean {
  return zstdDecompressor() !== undefined;
}

/** The compression of a layer media type, or `PLB_OCI_MEDIA_TYPE_UNSUPPORTED`. @internal */
export function layerCompression(descriptor: OciDescriptor): Compression {
  const compression = COMPRESSION[descriptor.mediaType];
  if (compression === undefined) {
    throw new PlumblineError(
      'PLB_OCI_MEDIA_TYPE_UNSUPPORTED',
      `layer ${descriptor.digest} has unsupported media type ${descriptor.mediaType}`,
      { details: { digest: descriptor.digest, mediaType: descriptor.mediaType } },
    );
  }
  if (compression === 'zstd' && !supportsZstdLayers()) {
    throw new PlumblineError(
      'PLB_OCI_MEDIA_TYPE_UNSUPPORTED',
      `layer ${descriptor.digest} is zstd-compressed and this runtime's node:zlib has no zstd (Node >= 22.15 has)`,
      { details: { digest: descriptor.digest, mediaType: descriptor.mediaType } },
    );
  }
  return compression;
}

/** Hashes and counts bytes passing through, failing past a limit. */
class Meter extends Transform {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  failure: PlumblineError | undefined;
  constructor(
    private readonly limit: number,
    private readonly onLimit: () => PlumblineError,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      this.failure = this.onLimit();
      callback(this.failure);
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

/**
 * What one layer holds at the path being looked for.
 *
 * @internal
 */
export interface LayerPathState {
  /** The layer has the path itself. */
  readonly entry?:
    | { readonly kind: 'file'; readonly digest: string; readonly size: number }
    | { readonly kind: 'other'; readonly type: string };
  /** The layer hides the lower layers' version of the path (whiteout, opaque dir, replaced parent). */
  readonly hidesLower: boolean;
}

/** Normalizes a tar entry path, refusing absolute paths and `..`. @internal */
export function normalizeEntryPath(raw: string, layer: string, field = 'path'): string {
  const path = raw.replace(/^(?:\.\/)+/, '');
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (raw.startsWith('/') || raw.includes('\\') || segments.includes('..')) {
    throw new PlumblineError(
      'PLB_OCI_PATH_TRAVERSAL',
      `layer ${layer} has an entry ${field} that leaves the root: ${JSON.stringify(raw.slice(0, 200))}`,
      { details: { layer, path: raw.slice(0, 200), field } },
    );
  }
  return segments.join('/');
}

/** Options of {@link scanLayer}. @internal */
export interface ScanLayerOptions {
  readonly layout: string;
  readonly descriptor: OciDescriptor;
  /** The layer's `diff_id`, checked when the layer is decompressed. */
  readonly diffId?: string;
  /** A normalized path to look for; without it, only the blob digest is checked. */
  readonly target?: string;
  readonly limits: OciLayoutLimits;
  /** The uncompressed bytes the image's remaining layers may still use (`maxUncompressedBytes`). */
  readonly budget?: { remaining: number };
  readonly signal?: AbortSignal;
}

/** Bytes a layer may expand to beyond `maxDecompressionRatio` times its size (small layers). */
const RATIO_SLACK = 1024 * 1024;

/** The uncompressed bytes a layer may reach, and the error for going past them. */
function decompressionCap(
  descriptor: OciDescriptor,
  limits: OciLayoutLimits,
  compressed: boolean,
  budget: { remaining: number } | undefined,
): { readonly cap: number; readonly error: () => PlumblineError } {
  const byRatio = compressed
    ? limits.maxDecompressionRatio * descriptor.size + RATIO_SLACK
    : Number.POSITIVE_INFINITY;
  const remaining = budget?.remaining ?? Number.POSITIVE_INFINITY;
  const cap = Math.min(limits.maxUncompressedLayerBytes, byRatio, remaining);
  const digest = descriptor.digest;
  const error = (): PlumblineError => {
    if (cap === remaining && remaining < limits.maxUncompressedLayerBytes && remaining < byRatio) {
      return new PlumblineError(
        'PLB_OCI_LIMIT',
        `the image's layers decompress to more than ${limits.maxUncompressedBytes} bytes together (at layer ${digest})`,
        { details: { digest, limit: limits.maxUncompressedBytes } },
      );
    }
    if (cap === byRatio && byRatio < limits.maxUncompressedLayerBytes) {
      return new PlumblineError(
        'PLB_OCI_LIMIT',
        `layer ${digest} expands more than ${limits.maxDecompressionRatio} times its compressed size of ${descriptor.size} bytes`,
        { details: { digest, limit: limits.maxDecompressionRatio } },
      );
    }
    return new PlumblineError(
      'PLB_OCI_LIMIT',
      `layer ${digest} decompresses to more than ${limits.maxUncompressedLayerBytes} bytes`,
      { details: { digest, limit: limits.maxUncompressedLayerBytes } },
    );
  };
  return { cap, error };
}

/**
 * Streams one layer blob, verifying its size and digest; with a target path, also decompresses
 * it, parses its tar entries (refusing path traversal), checks the `diff_id` and reports what the
 * layer holds at the target path.
 *
 * @internal
 */
export async function scanLayer(options: ScanLayerOptions): Promise<LayerPathState> {
  const { descriptor, limits, target, signal } = options;
  const compression = target === undefined ? 'none' : layerCompression(descriptor);
  const handle = await openBlob(options.layout, descriptor, limits.maxLayerBytes, 'layer');
  const source = handle.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false });
  const blobMeter = new Meter(
    limits.maxLayerBytes,
    () =>
      new PlumblineError('PLB_OCI_SIZE_MISMATCH', `layer ${descriptor.digest} grew while reading`, {
        details: { digest: descriptor.digest },
      }),
  );
  try {
    if (target === undefined) {
      await pipeline(
        source,
        blobMeter,
        async (stream: AsyncIterable<Buffer>) => {
          for await (const chunk of stream) void chunk;
        },
        { signal: signal ?? new AbortController().signal },
      );
      checkBlob(descriptor, blobMeter);
      return { hidesLower: false };
    }
    const budgetCap = decompressionCap(descriptor, limits, compression !== 'none', options.budget);
    const tarMeter = new Meter(budgetCap.cap, budgetCap.error);
    const state = createPathState(target, descriptor.digest, limits.maxLayerEntries);
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => state.onEntry(entry),
    });
    // Entries node-tar skips (unknown or unsupported types, oversized metadata) are refused, as
    // container runtimes refuse them: skipping one would hide what the layer holds.
    parser.on('ignoredEntry', (entry: ReadEntry) => state.refuse(entry));
    const parsed = new Promise<void>((resolve, reject) => {
      parser.on('error', (error: Error) => reject(layerInvalid(descriptor, error)));
      parser.on('end', () => resolve());
    });
    parsed.catch(() => undefined);
    const stages: NodeJS.ReadWriteStream[] = [blobMeter];
    if (compression === 'gzip') stages.push(zlib.createGunzip());
    if (compression === 'zstd') stages.push(zstdDecompressor()!());
    stages.push(tarMeter);
    let thrown: unknown;
    try {
      await pipeline(
        source,
        ...(stages as [Transform]),
        async (stream: AsyncIterable<Buffer>) => {
          try {
            for await (const chunk of stream) {
              if (state.error) throw state.error;
              if (!parser.write(chunk)) await Promise.race([once(parser, 'drain'), parsed]);
            }
            parser.end();
            await parsed;
            if (state.error) throw state.error;
          } catch (error) {
            thrown ??= error;
            throw error;
          }
        },
        { signal: signal ?? new AbortController().signal },
      );
    } catch (caught) {
      const error = blobMeter.failure ?? tarMeter.failure ?? state.error ?? thrown ?? caught;
      // A tampered blob usually breaks decompression first: report the digest when it differs.
      if (
        !signal?.aborted &&
        (!PlumblineError.is(error) || error.code === 'PLB_OCI_LAYER_INVALID')
      ) {
        await finishHash(blobPath(options.layout, descriptor.digest), descriptor);
      }
      throw mapStreamError(error, descriptor, signal);
    }
    checkBlob(descriptor, blobMeter);
    if (options.budget !== undefined) options.budget.remaining -= tarMeter.bytes;
    if (options.diffId !== undefined) {
      const actual = `sha256:${tarMeter.hash.digest('hex')}`;
      if (actual !== options.diffId) {
        throw new PlumblineError(
          'PLB_OCI_DIFFID_MISMATCH',
          `layer ${descriptor.digest} decompresses to ${actual}, the config's diff_id is ${options.diffId}`,
          { details: { digest: descriptor.digest, expected: options.diffId, actual } },
        );
      }
    }
    return state.result();
  } finally {
    source.destroy();
    await handle.close().catch(() => undefined);
  }
}

function checkBlob(descriptor: OciDescriptor, meter: Meter): void {
  if (meter.bytes !== descriptor.size) {
    throw new PlumblineError(
      'PLB_OCI_SIZE_MISMATCH',
      `layer ${descriptor.digest} changed size while reading`,
      {
        details: { digest: descriptor.digest, expected: descriptor.size, actual: meter.bytes },
      },
    );
  }
  assertDigest(descriptor, meter.hash.digest('hex'), 'layer');
}

/** After a decode failure, hashes the whole blob so a tampered layer reports a digest mismatch. */
async function finishHash(file: string, descriptor: OciDescriptor): Promise<void> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
  }
  assertDigest(descriptor, hash.digest('hex'), 'layer');
}

function layerInvalid(descriptor: OciDescriptor, cause: unknown): PlumblineError {
  if (PlumblineError.is(cause)) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new PlumblineError(
    'PLB_OCI_LAYER_INVALID',
    `layer ${descriptor.digest} is not a valid tar stream: ${message}`,
    { details: { digest: descriptor.digest }, cause },
  );
}

function mapStreamError(
  error: unknown,
  descriptor: OciDescriptor,
  signal: AbortSignal | undefined,
): PlumblineError {
  if (PlumblineError.is(error)) return error;
  if (signal?.aborted) {
    return new PlumblineError('PLB_ABORTED', 'image verification was aborted', {
      cause: signal.reason,
    });
  }
  return layerInvalid(descriptor, error);
}

/** A tar entry of a type no container runtime applies (sparse, tape, unknown typeflag…). */
function unsupportedEntry(entry: ReadEntry, layer: string): PlumblineError {
  const type = entry.header.typeKey ?? entry.type;
  const path = String(entry.header.path ?? entry.path ?? '').slice(0, 200);
  return new PlumblineError(
    'PLB_OCI_TAR_ENTRY_UNSUPPORTED',
    `layer ${layer} has an entry of unsupported tar type ${JSON.stringify(type)} at ${JSON.stringify(path)}`,
    { details: { digest: layer, type: String(type) } },
  );
}

interface PathTracker {
  error: PlumblineError | undefined;
  onEntry(entry: ReadEntry): void;
  refuse(entry: ReadEntry): void;
  result(): LayerPathState;
}

function createPathState(target: string, layer: string, maxEntries: number): PathTracker {
  const targetSegments = target.split('/');
  const ancestors = new Set<string>();
  for (let i = 1; i < targetSegments.length; i++) {
    ancestors.add(targetSegments.slice(0, i).join('/'));
  }
  let entries = 0;
  let hidesLower = false;
  let found: LayerPathState['entry'];
  const tracker: PathTracker = {
    error: undefined,
    onEntry(entry) {
      try {
        entries++;
        if (entries > maxEntries) {
          throw new PlumblineError(
            'PLB_OCI_LIMIT',
            `layer ${layer} has more than ${maxEntries} entries`,
            { details: { digest: layer, limit: maxEntries } },
          );
        }
        if (entry.type === 'GNUDumpDir') throw unsupportedEntry(entry, layer);
        const path = normalizeEntryPath(entry.header.path ?? entry.path, layer);
        if (entry.type === 'Link' && entry.linkpath !== undefined) {
          normalizeEntryPath(entry.linkpath, layer, 'link target');
        }
        const slash = path.lastIndexOf('/');
        const dir = slash < 0 ? '' : path.slice(0, slash);
        const base = slash < 0 ? path : path.slice(slash + 1);
        if (base === '.wh..wh..opq') {
          if (dir === '' || ancestors.has(dir)) hidesLower = true;
        } else if (base.startsWith('.wh.')) {
          const hidden = dir === '' ? base.slice(4) : `${dir}/${base.slice(4)}`;
          if (hidden === target || ancestors.has(hidden)) hidesLower = true;
        } else if (path === target) {
          if (
            entry.type === 'File' ||
            entry.type === 'OldFile' ||
            entry.type === 'ContiguousFile'
          ) {
            const hash = createHash('sha256');
            let size = 0;
            entry.on('data', (chunk: Buffer) => {
              hash.update(chunk);
              size += chunk.length;
            });
            entry.on('end', () => {
              found = { kind: 'file', digest: `sha256:${hash.digest('hex')}`, size };
            });
            return;
          }
          found = { kind: 'other', type: entry.type };
          hidesLower = true;
        } else if (ancestors.has(path) && entry.type !== 'Directory') {
          // A file or link where a parent directory was hides everything below it.
          hidesLower = true;
          found = undefined;
        }
      } catch (error) {
        tracker.error ??= error as PlumblineError;
      }
      entry.resume();
    },
    refuse(entry) {
      tracker.error ??= unsupportedEntry(entry, layer);
      entry.resume();
    },
    result() {
      return found === undefined ? { hidesLower } : { entry: found, hidesLower: true };
    },
  };
  return tracker;
}
