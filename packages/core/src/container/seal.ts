import { PlumblineError } from '../errors.js';
import { formatDigest, type DigestString } from '../hash/digest.js';
import { createSha256 } from '../hash/select.js';
import { createHeader, type CreateHeaderOptions } from '../header/create.js';
import { encodeHeader, headerDigest } from '../header/codec.js';
import type { ProvenanceHeader } from '../header/types.js';
import { checkAborted } from './abort.js';
import { encodeAttachments, type Attachments } from './attachments.js';
import { encodePrefix } from './format.js';
import { artifactDigestHasher } from './prefix.js';

/**
 * A payload that can be read more than once: bytes, a `Blob` (`fs.openAsBlob` gives a file-backed
 * one), or a function returning a fresh stream each call.
 *
 * @public
 */
export type RereadablePayload = Uint8Array | Blob | (() => ReadableStream<Uint8Array>);

/**
 * Header fields for {@link sealArtifact} when it builds the header itself: everything
 * `createHeader` takes except the payload's digest and size, which sealing measures.
 *
 * @public
 */
export interface SealHeaderFields extends Omit<CreateHeaderOptions, 'payload'> {
  /** The payload's media type. Default `application/octet-stream`. */
  readonly mediaType?: string;
}

/**
 * Options of {@link sealArtifact}: either a ready `header` (whose payload digest and size the
 * payload must match; the payload is then read once and may be a one-shot stream), or the header
 * fields (the payload is read twice: once to measure it, once to write it).
 *
 * @public
 */
export type SealArtifactOptions = (
  | {
      readonly header: ProvenanceHeader;
      readonly payload: RereadablePayload | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;
    }
  | (SealHeaderFields & { readonly header?: undefined; readonly payload: RereadablePayload })
) & {
  /** Attachments to write in the prefix. Default none (`a0`). */
  readonly attachments?: Attachments;
  /** Stops sealing; the destination is aborted and the promise rejects with `PLB_ABORTED`. */
  readonly signal?: AbortSignal;
};

/**
 * What sealing produced.
 *
 * @public
 */
export interface SealResult {
  /** The header written. */
  readonly header: ProvenanceHeader;
  /** The encoded header. */
  readonly headerBytes: Uint8Array;
  /** `sha256:` of the encoded header. */
  readonly headerDigest: DigestString;
  /** The artifact digest (SHA-256 of the container with an empty attachments section). */
  readonly artifactDigest: DigestString;
  /** Offset of the payload in the container. */
  readonly payloadOffset: number;
  /** Bytes written in all. */
  readonly size: number;
}

const CHUNK = 1024 * 1024;

async function* chunksOf(
  payload: RereadablePayload | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
): AsyncIterable<Uint8Array> {
  if (payload instanceof Uint8Array) {
    for (let i = 0; i < payload.length; i += CHUNK) yield payload.subarray(i, i + CHUNK);
    return;
  }
  const stream =
    typeof payload === 'function'
      ? payload()
      : typeof Blob !== 'undefined' && payload instanceof Blob
        ? (payload.stream() as ReadableStream<Uint8Array>)
        : payload;
  if (typeof ReadableStream !== 'undefined' && stream instanceof ReadableStream) {
    const reader = stream.getReader();
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      reader.releaseLock();
    }
  }
  yield* stream as AsyncIterable<Uint8Array>;
}

/**
 * Measures a payload's SHA-256 and size in one streaming pass.
 *
 * @example
 * ```ts
 * const { digest, size } = await measurePayload(new Uint8Array([1, 2, 3]));
 * ```
 * @throws {@link PlumblineError} `PLB_ABORTED`.
 * @public
 */
export async function measurePayload(
  payload: RereadablePayload,
  signal?: AbortSignal,
): Promise<{ digest: DigestString; size: number }> {
  const hasher = createSha256();
  let size = 0;
  for await (const chunk of chunksOf(payload)) {
    checkAborted(signal);
    hasher.update(chunk);
    size += chunk.length;
  }
  return { digest: formatDigest(hasher.digest()), size };
}

/**
 * Seals an artifact: writes the container (magic, version, header, attachments, payload) to a Web
 * `WritableStream`. The payload streams through in chunks, so a multi-GiB payload never sits in
 * memory; it is hashed as it is written and checked against the header, and the artifact digest
 * is computed in the same pass. Given a ready header, the payload is read once.
 * `@plumbline/core/node` has `sealArtifactFile` for files.
 *
 * @example
 * ```ts
 * import { sealArtifact } from '@plumbline/core/container';
 * const chunks: Uint8Array[] = [];
 * const result = await sealArtifact(
 *   { manifest, provenance: { builder: { id: 'acme-build', version: '1.0.0' } }, payload: compiled },
 *   new WritableStream({ write: (c) => void chunks.push(c) }),
 * );
 * console.log(result.artifactDigest);
 * ```
 * @throws {@link PlumblineError} header errors, `PLB_PAYLOAD_MISMATCH` (the payload differs from
 *   the header's digest or size; the destination is aborted), `PLB_PAYLOAD_INVALID` (a one-shot
 *   stream without a header), `PLB_ABORTED`.
 * @public
 */
export async function sealArtifact(
  options: SealArtifactOptions,
  destination: WritableStream<Uint8Array>,
): Promise<SealResult> {
  const { signal } = options;
  checkAborted(signal);
  let header: ProvenanceHeader;
  if (options.header !== undefined) {
    header = options.header;
  } else {
    const payload = options.payload;
    const isRereadable =
      payload instanceof Uint8Array ||
      typeof payload === 'function' ||
      (typeof Blob !== 'undefined' && payload instanceof Blob);
    if (!isRereadable) {
      throw new PlumblineError(
        'PLB_PAYLOAD_INVALID',
        'a one-shot payload stream needs a ready header; pass bytes, a Blob or a stream factory',
      );
    }
    const measured = await measurePayload(payload, signal);
    header = createHeader({
      ...options,
      payload: { ...measured, media_type: options.mediaType },
    });
  }
  const headerBytes = encodeHeader(header);
  const prefix = encodePrefix(headerBytes, encodeAttachments(options.attachments ?? {}));
  const writer = destination.getWriter();
  const payloadHasher = createSha256();
  const artifactHasher = artifactDigestHasher(headerBytes);
  let size = 0;
  try {
    await writer.write(prefix);
    for await (const chunk of chunksOf(options.payload)) {
      checkAborted(signal);
      size += chunk.length;
      if (size > header.payload.size) break;
      payloadHasher.update(chunk);
      artifactHasher.update(chunk);
      await writer.write(chunk);
    }
    const digest = formatDigest(payloadHasher.digest());
    if (size !== header.payload.size || digest !== header.payload.digest) {
      throw new PlumblineError(
        'PLB_PAYLOAD_MISMATCH',
        size !== header.payload.size
          ? `the payload has ${size > header.payload.size ? 'more' : 'fewer'} bytes than the header's ${header.payload.size}`
          : 'the payload digest differs from the header (did it change while sealing?)',
        { details: { expected: header.payload.digest, expectedSize: header.payload.size } },
      );
    }
    await writer.close();
  } catch (error) {
    await writer.abort(error).catch(() => undefined);
    throw error;
  } finally {
    writer.releaseLock();
  }
  return {
    header,
    headerBytes,
    headerDigest: headerDigest(headerBytes),
    artifactDigest: formatDigest(artifactHasher.digest()),
    payloadOffset: prefix.length,
    size: prefix.length + size,
  };
}
