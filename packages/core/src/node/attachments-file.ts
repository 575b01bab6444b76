import { open, type FileHandle } from 'node:fs/promises';
import { PlumblineError } from '../errors.js';
import { encodeAttachments, type Attachments } from '../container/attachments.js';
import { encodePrefix, PREFIX_FIXED_BYTES } from '../container/format.js';
import { mergeAttachments, type AttachmentChanges } from '../container/rewrite.js';
import type { ArtifactPrefix, ContainerLimits } from '../container/prefix.js';
import { withAtomicFile } from './atomic-file.js';
import { readHeader } from './container-file.js';
import { alignedBytes } from './aligned-bytes.js';

/**
 * Options of {@link updateAttachmentsFile}.
 *
 * @public
 */
export interface UpdateAttachmentsFileOptions extends ContainerLimits {
  /** Where to write the new container. Default: replace the source file (atomically). */
  readonly out?: string;
  /** Stops the copy; the partial output is removed and the promise rejects with `PLB_ABORTED`. */
  readonly signal?: AbortSignal;
}

const CHUNK = 4 * 1024 * 1024;

/**
 * Adds, replaces or removes attachments (signatures, bundles) of a container file. Only the prefix
 * is rewritten: the new file has the same header bytes and the same payload bytes, so
 * `artifact_hash`, the header digest and the artifact digest do not change. The result is written
 * to a temporary file and renamed into place.
 *
 * @example
 * ```ts
 * import { updateAttachmentsFile } from '@plumbline/core/node';
 * await updateAttachmentsFile('gateway.plb', { 'dev.plumbline.sigstore.bundle': bundleBytes });
 * ```
 * @throws {@link PlumblineError} as `readHeader`, `PLB_ATTACHMENT_INVALID`, `PLB_IO`, `PLB_ABORTED`.
 * @public
 */
export async function updateAttachmentsFile(
  path: string,
  changes: AttachmentChanges,
  options: UpdateAttachmentsFileOptions = {},
): Promise<ArtifactPrefix & { readonly attachments: Attachments; readonly out: string }> {
  const out = options.out ?? path;
  const prefix = await readHeader(path, options);
  const attachments = mergeAttachments(prefix.attachments, changes);
  const newPrefix = encodePrefix(prefix.headerBytes, encodeAttachments(attachments));
  let input: FileHandle | undefined;
  try {
    input = await open(path, 'r');
    const source = input;
    await withAtomicFile(
      out,
      (output) => copyAfterPrefix(source, output, newPrefix, prefix.payloadOffset, options.signal),
      { fsync: false },
    );
  } catch (error) {
    if (PlumblineError.is(error)) throw error;
    const code = (error as { code?: string }).code ?? 'EIO';
    throw new PlumblineError('PLB_IO', `cannot write ${out} (${code})`, {
      cause: error,
      details: { path: out, errno: code },
    });
  } finally {
    await input?.close().catch(() => undefined);
  }
  return {
    ...prefix,
    attachments,
    attachmentsBytes: newPrefix.subarray(PREFIX_FIXED_BYTES + prefix.headerBytes.length),
    payloadOffset: newPrefix.length,
    out,
  };
}

/** Writes `newPrefix`, then copies the payload of `input` from `payloadOffset` on after it. */
async function copyAfterPrefix(
  input: FileHandle,
  output: FileHandle,
  newPrefix: Uint8Array,
  payloadOffset: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  await output.write(newPrefix, 0, newPrefix.length, 0);
  const buffer = alignedBytes(CHUNK);
  let from = payloadOffset;
  let to = newPrefix.length;
  for (;;) {
    if (signal?.aborted) {
      throw new PlumblineError('PLB_ABORTED', 'updating attachments was aborted');
    }
    const { bytesRead } = await input.read(buffer, 0, CHUNK, from);
    if (bytesRead === 0) break;
    let written = 0;
    while (written < bytesRead) {
      const r = await output.write(buffer, written, bytesRead - written, to + written);
      written += r.bytesWritten;
    }
    from += bytesRead;
    to += bytesRead;
  }
}
