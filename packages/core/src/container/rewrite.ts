import { PlumblineError } from '../errors.js';
import { checkAborted } from './abort.js';
import { checkAttachmentKey, encodeAttachments, type Attachments } from './attachments.js';
import { encodePrefix } from './format.js';
import { openPrefix } from './read.js';
import type { ArtifactPrefix, ContainerLimits } from './prefix.js';
import { byteReader, type ArtifactSource } from './reader.js';

/**
 * Changes to a container's attachments: a key with bytes sets it, a key with `null` removes it.
 *
 * @public
 */
export type AttachmentChanges = Readonly<Record<string, Uint8Array | null>>;

/**
 * Applies changes to attachments (a new object; keys are checked).
 *
 * @example
 * ```ts
 * mergeAttachments({}, { 'dev.plumbline.sigstore.bundle': bundle });
 * ```
 * @throws {@link PlumblineError} `PLB_ATTACHMENT_INVALID`.
 * @public
 */
export function mergeAttachments(current: Attachments, changes: AttachmentChanges): Attachments {
  const out: Record<string, Uint8Array> = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    checkAttachmentKey(key);
    if (value === null) delete out[key];
    else if (value instanceof Uint8Array) out[key] = value;
    else {
      throw new PlumblineError('PLB_ATTACHMENT_INVALID', `attachment ${key} is not bytes`, {
        details: { key },
      });
    }
  }
  return out;
}

/**
 * Options of {@link rewriteAttachments}.
 *
 * @public
 */
export interface RewriteAttachmentsOptions extends ContainerLimits {
  /** Stops the copy; the destination is aborted and the promise rejects with `PLB_ABORTED`. */
  readonly signal?: AbortSignal;
}

/**
 * Writes a copy of a container with changed attachments to a Web stream: a new prefix (same
 * header bytes, new attachments) followed by the payload bytes unchanged. `artifact_hash`, the
 * header digest and the artifact digest stay the same. Returns the source's prefix.
 *
 * @example
 * ```ts
 * await rewriteAttachments(bytes, { 'dev.plumbline.sigstore.bundle': bundle }, writable);
 * ```
 * @throws {@link PlumblineError} as `readHeader`, `PLB_ATTACHMENT_INVALID`, `PLB_ABORTED`.
 * @public
 */
export async function rewriteAttachments(
  source: ArtifactSource,
  changes: AttachmentChanges,
  destination: WritableStream<Uint8Array>,
  options: RewriteAttachmentsOptions = {},
): Promise<ArtifactPrefix & { readonly newAttachments: Attachments }> {
  checkAborted(options.signal);
  const reader = byteReader(source);
  const writer = destination.getWriter();
  try {
    const prefix = await openPrefix(reader, options);
    const attachments = mergeAttachments(prefix.attachments, changes);
    await writer.write(encodePrefix(prefix.headerBytes, encodeAttachments(attachments)));
    for await (const chunk of reader.rest()) {
      checkAborted(options.signal);
      await writer.write(chunk);
    }
    await writer.close();
    return { ...prefix, newAttachments: attachments };
  } catch (error) {
    await writer.abort(error).catch(() => undefined);
    throw error;
  } finally {
    writer.releaseLock();
    await reader.close();
  }
}
