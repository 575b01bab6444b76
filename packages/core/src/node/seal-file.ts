import { readSync, writeSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { PlumblineError } from '../errors.js';
import { formatDigest, type DigestString } from '../hash/digest.js';
import { createSha256 } from '../hash/select.js';
import { createHeader } from '../header/create.js';
import { encodeHeader, headerDigest } from '../header/codec.js';
import type { ProvenanceHeader } from '../header/types.js';
import { encodeAttachments, type Attachments } from '../container/attachments.js';
import { encodePrefix, prefixLength } from '../container/format.js';
import type { SealHeaderFields } from '../container/seal.js';
import { artifactDigestHasher } from '../container/prefix.js';
import type { Sha256Hasher } from '../hash/backend.js';
import { withAtomicFile } from './atomic-file.js';
import { alignedBytes } from './aligned-bytes.js';
import { CHUNKS_PER_TURN, nextTurn } from './next-turn.js';

/**
 * Options of {@link sealArtifactFile}: the header fields (or a ready header), the payload file and
 * the output file.
 *
 * @public
 */
export type SealArtifactFileOptions = (
  (SealHeaderFields & { readonly header?: undefined }) | { readonly header: ProvenanceHeader }
) & {
  /** The payload file (the gateway's compiled bytes). */
  readonly payload: string;
  /** The container file to write (replaced atomically: written beside it, then renamed). */
  readonly out: string;
  /** Attachments to write in the prefix. Default none. */
  readonly attachments?: Attachments;
  /**
   * Also compute the artifact digest. With `header` given (its payload digest known up front) it
   * is computed in the same pass as the copy; otherwise the header, which precedes the payload,
   * holds the payload digest, so the artifact digest takes a second hash of the payload, read back
   * from the output file just written (warm in the page cache). Default false; without it, and
   * without attachments, the artifact digest is the output file's SHA-256.
   */
  readonly artifactDigest?: boolean;
  /** Flush the output to stable storage before renaming it into place. Default false. */
  readonly fsync?: boolean;
  /** Stops sealing; the partial output is removed and the promise rejects with `PLB_ABORTED`. */
  readonly signal?: AbortSignal;
};

/**
 * What {@link sealArtifactFile} wrote.
 *
 * @public
 */
export interface SealFileResult {
  /** The container file written (the `out` option). */
  readonly out: string;
  /** The header written, with the payload's measured digest. */
  readonly header: ProvenanceHeader;
  /** The exact header bytes written (deterministic CBOR). */
  readonly headerBytes: Uint8Array;
  /** SHA-256 of `headerBytes`, as a digest string (`sha256:<hex>`). */
  readonly headerDigest: DigestString;
  /** Present when `artifactDigest: true` was given. */
  readonly artifactDigest?: DigestString;
  /** Byte offset of the first payload byte in the output file. */
  readonly payloadOffset: number;
  /** Size of the output file in bytes (prefix plus payload). */
  readonly size: number;
}

/** Size of one read or write of the payload. */
const CHUNK = 1024 * 1024;

/**
 * `bytes` with the one occurrence of the ASCII digest string `from` replaced by `to` (same length),
 * or `undefined` when `from` does not occur exactly once (then the caller encodes again).
 */
function replaceDigest(
  bytes: Uint8Array,
  from: DigestString,
  to: DigestString,
): Uint8Array | undefined {
  const haystack = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = haystack.indexOf(from, 0, 'latin1');
  if (at < 0 || haystack.indexOf(from, at + 1, 'latin1') >= 0) return undefined;
  const out = Uint8Array.from(bytes);
  Buffer.from(out.buffer).write(to, at, 'latin1');
  return out;
}

/** Writes all of `data` at `position` of the file open as `fd`. */
function writeAllSync(fd: number, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.length) {
    done += writeSync(fd, data, done, data.length - done, position + done);
  }
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new PlumblineError('PLB_ABORTED', 'sealing was aborted', { cause: signal.reason });
  }
}

/**
 * Copies the payload into the output at `payloadOffset`, hashing it (and feeding `artifact`, when
 * given), with synchronous reads and writes of one chunk at a time and a turn of the event loop
 * every {@link CHUNKS_PER_TURN} chunks. Reads and writes handed to the thread pool cost more here
 * than they overlap: a 64 MiB payload took 0.18–0.19 s to seal that way against 0.14–0.16 s
 * (docs/benchmarks.md). Returns the payload hasher and the number of bytes read (more than `size`
 * when the file grew).
 */
async function copyPayload(
  source: FileHandle,
  sink: FileHandle,
  to: {
    readonly size: number;
    readonly payloadOffset: number;
    readonly buffer: Uint8Array;
    readonly artifact: Sha256Hasher | undefined;
    readonly signal: AbortSignal | undefined;
  },
): Promise<{ hasher: Sha256Hasher; position: number }> {
  const { size, payloadOffset, buffer, artifact, signal } = to;
  const hasher = createSha256();
  let position = 0;
  for (let chunks = 1; ; chunks++) {
    const bytesRead = readSync(source.fd, buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    const chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    hasher.update(chunk);
    artifact?.update(chunk);
    writeAllSync(sink.fd, chunk, payloadOffset + position);
    position += bytesRead;
    if (position > size) break;
    if (chunks % CHUNKS_PER_TURN === 0) {
      await nextTurn();
      aborted(signal);
    }
  }
  return { hasher, position };
}

/**
 * Feeds `hasher` the `size` payload bytes at `offset` of the file just written, read back
 * synchronously one chunk at a time (the event loop turning every {@link CHUNKS_PER_TURN}
 * chunks).
 */
async function hashPayloadBack(
  hasher: Sha256Hasher,
  from: {
    readonly handle: FileHandle;
    readonly offset: number;
    readonly size: number;
    readonly buffer: Uint8Array;
    readonly signal: AbortSignal | undefined;
  },
): Promise<Sha256Hasher> {
  const { handle, offset, size, buffer, signal } = from;
  let position = 0;
  for (let chunks = 1; position < size; chunks++) {
    const want = Math.min(buffer.length, size - position);
    const bytesRead = readSync(handle.fd, buffer, 0, want, offset + position);
    if (bytesRead === 0) {
      throw new PlumblineError('PLB_IO', 'the sealed file is shorter than what was written');
    }
    hasher.update(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
    position += bytesRead;
    if (chunks % CHUNKS_PER_TURN === 0) {
      await nextTurn();
      aborted(signal);
    }
  }
  return hasher;
}

/**
 * Seals a payload file into an artifact container file in ONE pass over the payload: the header's
 * length does not depend on the payload digest (a digest string has a fixed length), so the
 * payload is copied to its final offset while it is hashed, and the prefix is written last. The
 * output appears atomically (temporary file, then rename). Memory stays flat for any payload size.
 *
 * @example
 * ```ts
 * import { buildManifest, sealArtifactFile } from '@plumbline/core/node';
 * const manifest = await buildManifest(['config/']);
 * const result = await sealArtifactFile({
 *   manifest,
 *   provenance: { commit: process.env.GITHUB_SHA, builder: { id: 'acme-build', version: '1.0.0' } },
 *   payload: 'dist/gateway.bin',
 *   out: 'dist/gateway.plb',
 * });
 * console.log(result.header.artifact_hash);
 * ```
 * @throws {@link PlumblineError} header errors, `PLB_IO`, `PLB_PAYLOAD_MISMATCH` (the payload
 *   changed while it was read, or differs from a given header), `PLB_ABORTED`.
 * @public
 */
export async function sealArtifactFile(options: SealArtifactFileOptions): Promise<SealFileResult> {
  const { signal } = options;
  aborted(signal);
  let size: number;
  try {
    size = (await stat(options.payload)).size;
  } catch (cause) {
    throw new PlumblineError('PLB_IO', `cannot read the payload file: ${options.payload}`, {
      cause,
      details: { path: options.payload },
    });
  }
  // The payload digest is not known before the payload is read: the header is built, checked and
  // encoded once with a random placeholder digest of the same length, whose bytes are replaced
  // by the real digest's afterwards (a CBOR text string of fixed length: nothing else moves).
  const placeholder = formatDigest(randomBytes(32));
  const draft: ProvenanceHeader =
    options.header ??
    createHeader({
      ...options,
      payload: { digest: placeholder, size, media_type: options.mediaType },
    });
  if (draft.payload.size !== size) {
    throw new PlumblineError(
      'PLB_PAYLOAD_MISMATCH',
      `the payload file has ${size} bytes, the header says ${draft.payload.size}`,
    );
  }
  const draftBytes = encodeHeader(draft);
  const attachmentsBytes = encodeAttachments(options.attachments ?? {});
  const payloadOffset = prefixLength(draftBytes.length, attachmentsBytes.length);
  const layout = { draft, draftBytes, placeholder, attachmentsBytes, payloadOffset, size };
  let input: FileHandle | undefined;
  try {
    input = await open(options.payload, 'r');
    const source = input;
    const result = await withAtomicFile(
      options.out,
      (output) => writeContainer(source, output, options, layout),
      { fsync: options.fsync === true, readable: true },
    );
    return { out: options.out, ...result };
  } catch (error) {
    if (PlumblineError.is(error)) throw error;
    const code = (error as { code?: string }).code ?? 'EIO';
    throw new PlumblineError('PLB_IO', `sealing failed (${code}): ${options.out}`, {
      cause: error,
      details: { path: options.out, errno: code },
    });
  } finally {
    await input?.close().catch(() => undefined);
  }
}

/** The draft header and the layout {@link sealArtifactFile} writes the container in. */
interface ContainerLayout {
  readonly draft: ProvenanceHeader;
  readonly draftBytes: Uint8Array;
  readonly placeholder: DigestString;
  readonly attachmentsBytes: Uint8Array;
  readonly payloadOffset: number;
  readonly size: number;
}

/**
 * Writes the container into `output`: the payload at its offset (hashed as it is copied), then the
 * prefix with the header holding the payload's digest, then (when asked) the artifact digest.
 */
async function writeContainer(
  input: FileHandle,
  output: FileHandle,
  options: SealArtifactFileOptions,
  layout: ContainerLayout,
): Promise<Omit<SealFileResult, 'out'>> {
  const { signal } = options;
  const { draftBytes, payloadOffset, size } = layout;
  // With the header given, the prefix is known before the payload: one pass feeds both.
  const artifact =
    options.artifactDigest === true && options.header !== undefined
      ? artifactDigestHasher(draftBytes)
      : undefined;
  const buffer = alignedBytes(CHUNK);
  const { hasher, position } = await copyPayload(input, output, {
    size,
    payloadOffset,
    buffer,
    artifact,
    signal,
  });
  if (position !== size) {
    throw new PlumblineError(
      'PLB_PAYLOAD_MISMATCH',
      'the payload file changed size while it was sealed',
      { details: { path: options.payload, expected: size, read: position } },
    );
  }
  const { header, headerBytes } = finalHeader(options, layout, formatDigest(hasher.digest()));
  writeAllSync(output.fd, encodePrefix(headerBytes, layout.attachmentsBytes), 0);
  let artifactDigest: DigestString | undefined;
  if (options.artifactDigest === true) {
    const artifactHasher =
      artifact ??
      (await hashPayloadBack(artifactDigestHasher(headerBytes), {
        handle: output,
        offset: payloadOffset,
        size,
        buffer,
        signal,
      }));
    artifactDigest = formatDigest(artifactHasher.digest());
  }
  return {
    header,
    headerBytes,
    headerDigest: headerDigest(headerBytes),
    ...(artifactDigest === undefined ? {} : { artifactDigest }),
    payloadOffset,
    size: payloadOffset + size,
  };
}

/**
 * The header holding the payload's measured `digest`: the given header (which must name that
 * digest), or the draft with its placeholder digest replaced in place.
 */
function finalHeader(
  options: SealArtifactFileOptions,
  layout: ContainerLayout,
  digest: DigestString,
): { header: ProvenanceHeader; headerBytes: Uint8Array } {
  if (options.header !== undefined) {
    if (options.header.payload.digest !== digest) {
      throw new PlumblineError(
        'PLB_PAYLOAD_MISMATCH',
        'the payload digest differs from the given header',
        { details: { expected: options.header.payload.digest, actual: digest } },
      );
    }
    return { header: options.header, headerBytes: layout.draftBytes };
  }
  const { draft, draftBytes, placeholder } = layout;
  const header = { ...draft, payload: { ...draft.payload, digest } };
  return {
    header,
    headerBytes: replaceDigest(draftBytes, placeholder, digest) ?? encodeHeader(header),
  };
}
