import { PlumblineError } from '../errors.js';
import { formatDigest, type DigestString } from '../hash/digest.js';
import { createSha256 } from '../hash/select.js';
import { checkAborted } from './abort.js';
import {
  artifactDigestHasher,
  readPrefix,
  type ArtifactPrefix,
  type ContainerLimits,
} from './prefix.js';
import { byteReader, type ArtifactSource, type ByteReader } from './reader.js';

/**
 * Options of {@link readHeader}.
 *
 * @public
 */
export interface ReadHeaderOptions extends ContainerLimits {
  /**
   * Also compute the artifact digest (SHA-256 of the container with an empty attachments
   * section). This reads the payload once, hashing it as it streams; without it only the prefix
   * is read. Default false.
   */
  readonly artifactDigest?: boolean;
  /** Stops reading; the promise rejects with `PLB_ABORTED`. */
  readonly signal?: AbortSignal;
}

/**
 * What {@link readHeader} returns: the prefix, and the artifact digest when asked for.
 *
 * @public
 */
export interface ArtifactHeaderInfo extends ArtifactPrefix {
  /** The artifact digest, present when `artifactDigest: true` was given. */
  readonly artifactDigest?: DigestString;
}

function legacyError(): PlumblineError {
  return new PlumblineError(
    'PLB_LEGACY_ARTIFACT',
    'the file has no Plumbline container magic: a legacy artifact, unverified',
    { details: { offset: 0 } },
  );
}

/** @internal */
export async function openPrefix(
  reader: ByteReader,
  limits: ContainerLimits,
): Promise<ArtifactPrefix> {
  const probe = await readPrefix(reader, limits);
  if (probe.kind === 'legacy') throw legacyError();
  return probe.prefix;
}

/**
 * Reads the header and attachments of an artifact container, touching only the prefix: its cost
 * does not depend on the payload size. With `artifactDigest: true` it also streams the payload
 * once to compute the artifact digest signers name as their subject.
 *
 * @example
 * ```ts
 * import { readHeader } from '@plumbline/core/container';
 * const { header, headerDigest, attachments } = await readHeader(bytes);
 * console.log(header.artifact_hash, headerDigest, Object.keys(attachments));
 * ```
 * @throws {@link PlumblineError} `PLB_LEGACY_ARTIFACT` (no magic), `PLB_UNSUPPORTED_VERSION`,
 *   `PLB_TRUNCATED` (with `details.offset`), `PLB_LIMIT_*`, `PLB_CBOR_*`, `PLB_HEADER_INVALID`,
 *   `PLB_ATTACHMENT_INVALID`, `PLB_ABORTED`.
 * @public
 */
export async function readHeader(
  source: ArtifactSource,
  options: ReadHeaderOptions = {},
): Promise<ArtifactHeaderInfo> {
  checkAborted(options.signal);
  const reader = byteReader(source);
  try {
    const prefix = await openPrefix(reader, options);
    if (options.artifactDigest !== true) return prefix;
    const hasher = artifactDigestHasher(prefix.headerBytes);
    for await (const chunk of reader.rest()) {
      checkAborted(options.signal);
      hasher.update(chunk);
    }
    return { ...prefix, artifactDigest: formatDigest(hasher.digest()) };
  } finally {
    await reader.close();
  }
}

/**
 * Options of {@link openArtifact}.
 *
 * @public
 */
export interface OpenArtifactOptions extends ContainerLimits {
  /**
   * Check the payload's digest and size against the header as it streams (default true): the
   * stream errors with `PLB_PAYLOAD_MISMATCH` before it ends when they differ, so consume it to
   * the end before trusting it.
   */
  readonly verifyPayload?: boolean;
  /** Cancels the payload stream with `PLB_ABORTED`. */
  readonly signal?: AbortSignal;
}

/**
 * An opened artifact: its prefix, and its payload as a stream.
 *
 * @public
 */
export interface OpenedArtifact extends ArtifactPrefix {
  /** The payload bytes (exactly `header.payload.size` of them, or the stream errors). */
  readonly payload: ReadableStream<Uint8Array>;
  /**
   * The artifact digest; resolves once the payload stream has been read to its end (it is
   * computed in the same pass), rejects if the stream errors or is cancelled.
   */
  readonly artifactDigest: Promise<DigestString>;
}

/**
 * Opens an artifact container: reads the prefix, then exposes the payload as a Web stream. The
 * payload streams through; it never sits in memory whole. Truncation is `PLB_TRUNCATED` with the
 * offset; with `verifyPayload` (the default) a digest or size mismatch errors the stream.
 *
 * @example
 * ```ts
 * import { openArtifact } from '@plumbline/core/container';
 * const artifact = await openArtifact(response.body!);
 * for await (const chunk of artifact.payload) load(chunk);
 * console.log(await artifact.artifactDigest);
 * ```
 * @throws {@link PlumblineError} as {@link readHeader}; the stream errors with `PLB_TRUNCATED`,
 *   `PLB_PAYLOAD_MISMATCH` or `PLB_ABORTED`.
 * @public
 */
export async function openArtifact(
  source: ArtifactSource,
  options: OpenArtifactOptions = {},
): Promise<OpenedArtifact> {
  checkAborted(options.signal);
  const reader = byteReader(source);
  let prefix: ArtifactPrefix;
  try {
    prefix = await openPrefix(reader, options);
  } catch (error) {
    await reader.close();
    throw error;
  }
  const expected = prefix.header.payload;
  const verify = options.verifyPayload !== false;
  const payloadHasher = verify ? createSha256() : undefined;
  const artifactHasher = artifactDigestHasher(prefix.headerBytes);
  const iterator = reader.rest()[Symbol.asyncIterator]();
  let received = 0;
  let resolveDigest!: (d: DigestString) => void;
  let rejectDigest!: (e: unknown) => void;
  const artifactDigest = new Promise<DigestString>((resolve, reject) => {
    resolveDigest = resolve;
    rejectDigest = reject;
  });
  artifactDigest.catch(() => undefined); // observed through the stream as well
  const fail = async (error: PlumblineError): Promise<never> => {
    rejectDigest(error);
    await reader.close();
    throw error;
  };
  const payload = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (options.signal?.aborted) {
        await fail(new PlumblineError('PLB_ABORTED', 'the operation was aborted'));
      }
      const next = await iterator.next();
      if (next.done) {
        if (received < expected.size) {
          await fail(
            new PlumblineError(
              'PLB_TRUNCATED',
              `the artifact ends at offset ${prefix.payloadOffset + received} inside the payload (${expected.size} bytes expected)`,
              {
                details: {
                  offset: prefix.payloadOffset + received,
                  expectedEnd: prefix.payloadOffset + expected.size,
                  section: 'payload',
                },
              },
            ),
          );
        }
        if (payloadHasher) {
          const actual = formatDigest(payloadHasher.digest());
          if (actual !== expected.digest) {
            await fail(
              new PlumblineError(
                'PLB_PAYLOAD_MISMATCH',
                'the payload digest differs from the header',
                {
                  details: { expected: expected.digest, actual },
                },
              ),
            );
          }
        }
        resolveDigest(formatDigest(artifactHasher.digest()));
        await reader.close();
        controller.close();
        return;
      }
      const chunk = next.value;
      received += chunk.length;
      if (verify && received > expected.size) {
        await fail(
          new PlumblineError(
            'PLB_PAYLOAD_MISMATCH',
            `the payload is longer than the ${expected.size} bytes the header gives`,
            { details: { offset: prefix.payloadOffset + expected.size } },
          ),
        );
      }
      payloadHasher?.update(chunk);
      artifactHasher.update(chunk);
      controller.enqueue(chunk);
    },
    async cancel(reason) {
      rejectDigest(
        new PlumblineError('PLB_ABORTED', 'the payload stream was cancelled', { cause: reason }),
      );
      await reader.close();
    },
  });
  return { ...prefix, payload, artifactDigest };
}
