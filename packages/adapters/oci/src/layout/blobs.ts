import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { PlumblineError } from '@plumbline/core';
import type { OciDescriptor } from './descriptor.js';

/** The file of a blob in a layout (the digest was checked by `parseDescriptor`). @internal */
export function blobPath(layout: string, digest: string): string {
  const [alg, hex] = digest.split(':') as [string, string];
  return join(layout, 'blobs', alg, hex);
}

/** Throws `PLB_ABORTED` when the signal has fired. @internal */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new PlumblineError('PLB_ABORTED', 'image verification was aborted', {
      cause: signal.reason,
    });
  }
}

/**
 * Opens a blob and checks that its file size is the descriptor's size and within `limit`
 * (checked before reading anything).
 *
 * @internal
 */
export async function openBlob(
  layout: string,
  descriptor: OciDescriptor,
  limit: number,
  what: string,
): Promise<FileHandle> {
  if (descriptor.size > limit) {
    throw new PlumblineError(
      'PLB_OCI_LIMIT',
      `${what} ${descriptor.digest} declares ${descriptor.size} bytes, over the limit of ${limit}`,
      { details: { what, digest: descriptor.digest, size: descriptor.size, limit } },
    );
  }
  let handle: FileHandle;
  try {
    handle = await open(blobPath(layout, descriptor.digest), 'r');
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new PlumblineError(
        'PLB_OCI_BLOB_MISSING',
        `${what} blob ${descriptor.digest} is missing`,
        {
          details: { what, digest: descriptor.digest },
          cause,
        },
      );
    }
    throw cause;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw new PlumblineError(
        'PLB_OCI_BLOB_MISSING',
        `${what} blob ${descriptor.digest} is not a file`,
        {
          details: { what, digest: descriptor.digest },
        },
      );
    }
    if (stat.size !== descriptor.size) {
      throw new PlumblineError(
        'PLB_OCI_SIZE_MISMATCH',
        `${what} blob ${descriptor.digest} has ${stat.size} bytes, its descriptor says ${descriptor.size}`,
        {
          details: {
            what,
            digest: descriptor.digest,
            expected: descriptor.size,
            actual: stat.size,
          },
        },
      );
    }
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}

/** Throws `PLB_OCI_DIGEST_MISMATCH` unless `actual` (hex) matches the descriptor. @internal */
export function assertDigest(descriptor: OciDescriptor, actualHex: string, what: string): void {
  const actual = `sha256:${actualHex}`;
  if (actual !== descriptor.digest) {
    throw new PlumblineError(
      'PLB_OCI_DIGEST_MISMATCH',
      `${what} blob ${descriptor.digest} has content digest ${actual}: the blob was modified`,
      { details: { what, expected: descriptor.digest, actual } },
    );
  }
}

/**
 * Reads a small blob whole, verifying its size and digest.
 *
 * @internal
 */
export async function readBlob(
  layout: string,
  descriptor: OciDescriptor,
  limit: number,
  what: string,
): Promise<Uint8Array> {
  const handle = await openBlob(layout, descriptor, limit, what);
  try {
    const bytes = new Uint8Array(descriptor.size);
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesRead } = await handle.read(bytes, offset, bytes.length - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    if (offset !== bytes.length) {
      throw new PlumblineError(
        'PLB_OCI_SIZE_MISMATCH',
        `${what} blob ${descriptor.digest} is truncated`,
        {
          details: { what, digest: descriptor.digest, expected: descriptor.size, actual: offset },
        },
      );
    }
    assertDigest(descriptor, createHash('sha256').update(bytes).digest('hex'), what);
    return bytes;
  } finally {
    await handle.close();
  }
}

/** Parses JSON bytes, mapping errors to `PLB_OCI_JSON_INVALID`. @internal */
export function parseJson(bytes: Uint8Array, what: string): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new PlumblineError('PLB_OCI_JSON_INVALID', `${what} is not valid UTF-8`, {
      details: { what },
      cause,
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new PlumblineError('PLB_OCI_JSON_INVALID', `${what} is not valid JSON`, {
      details: { what },
      cause,
    });
  }
}
