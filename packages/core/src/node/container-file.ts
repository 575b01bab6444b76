import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { PlumblineError } from '../errors.js';
import {
  openArtifact as openArtifactSource,
  readHeader as readHeaderSource,
  type ArtifactHeaderInfo,
  type OpenArtifactOptions,
  type OpenedArtifact,
  type ReadHeaderOptions,
} from '../container/read.js';
import type { ArtifactSource, RandomAccessSource } from '../container/reader.js';
import {
  verifyArtifact as verifyArtifactSource,
  type ArtifactVerification,
  type VerifyArtifactOptions,
} from '../container/verify.js';
import { buildManifest, type BuildManifestOptions } from './manifest-fs.js';

/**
 * Where `@plumbline/core/node` reads an artifact from: a file path (or `file:` URL), an open
 * `FileHandle`, a Node `Readable`, or anything the runtime-neutral API takes (bytes, Web streams,
 * random-access sources).
 *
 * @public
 */
export type NodeArtifactSource = string | URL | FileHandle | Readable | ArtifactSource;

/**
 * Positional reads over an open file handle (not closed by this library unless `owned`).
 *
 * @example
 * ```ts
 * const handle = await open('gateway.plb');
 * const info = await readHeader(fileHandleSource(handle));
 * ```
 * @public
 */
export function fileHandleSource(handle: FileHandle, owned = false): RandomAccessSource {
  return {
    async read(position, length) {
      // Not zeroed up front (the bytes are read over; a short read's tail is zeroed below): zeroing
      // a new 1 MiB chunk for every read of a large payload costs as much as reading it.
      const buffer = Buffer.allocUnsafeSlow(length);
      const out = new Uint8Array(buffer.buffer, buffer.byteOffset, length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(out, filled, length - filled, position + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      if (filled === length) return out;
      // The tail was never read into: zero it, so no earlier memory is reachable through `buffer`.
      out.fill(0, filled);
      return out.subarray(0, filled);
    },
    async close() {
      if (owned) await handle.close();
    },
  };
}

function isFileHandle(value: unknown): value is FileHandle {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as FileHandle).fd === 'number' &&
    typeof (value as FileHandle).read === 'function' &&
    typeof (value as FileHandle).stat === 'function'
  );
}

async function openFile(path: string | URL): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (cause) {
    const code = (cause as { code?: string }).code ?? 'EIO';
    throw new PlumblineError(
      'PLB_IO',
      `${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot open (${code})`}: ${String(path)}`,
      { cause, details: { path: String(path), errno: code } },
    );
  }
}

/**
 * Resolves a {@link NodeArtifactSource} to a runtime-neutral source. Paths are opened (and closed
 * when reading ends); handles are read positionally and left open.
 *
 * @throws {@link PlumblineError} `PLB_IO` when the file cannot be opened.
 * @internal
 */
export async function toArtifactSource(source: NodeArtifactSource): Promise<ArtifactSource> {
  if (typeof source === 'string' || source instanceof URL) {
    return fileHandleSource(await openFile(source), true);
  }
  if (isFileHandle(source)) return fileHandleSource(source, false);
  if (source instanceof Readable) return source as AsyncIterable<Uint8Array>;
  return source;
}

/**
 * Reads an artifact's header and attachments from a file path, file handle, Node stream, bytes
 * or Web stream, touching only the prefix (its cost does not depend on the payload size).
 * With `artifactDigest: true` it streams the payload once to compute the artifact digest.
 *
 * @example
 * ```ts
 * import { readHeader } from '@plumbline/core/node';
 * const { header, headerDigest, artifactDigest } = await readHeader('gateway.plb', { artifactDigest: true });
 * ```
 * @throws {@link PlumblineError} `PLB_IO`, `PLB_LEGACY_ARTIFACT`, `PLB_UNSUPPORTED_VERSION`,
 *   `PLB_TRUNCATED`, `PLB_LIMIT_*`, `PLB_CBOR_*`, `PLB_HEADER_INVALID`, `PLB_ATTACHMENT_INVALID`.
 * @public
 */
export async function readHeader(
  source: NodeArtifactSource,
  options: ReadHeaderOptions = {},
): Promise<ArtifactHeaderInfo> {
  return readHeaderSource(await toArtifactSource(source), options);
}

/**
 * Opens an artifact (file path, handle, stream or bytes) and exposes its payload as a Web stream;
 * a file opened by path is closed when the stream ends, errors or is cancelled.
 *
 * @example
 * ```ts
 * import { openArtifact } from '@plumbline/core/node';
 * const artifact = await openArtifact('gateway.plb');
 * for await (const chunk of artifact.payload) process.stdout.write(chunk);
 * ```
 * @throws {@link PlumblineError} as {@link readHeader}; the stream errors with `PLB_TRUNCATED` or
 *   `PLB_PAYLOAD_MISMATCH`.
 * @public
 */
export async function openArtifact(
  source: NodeArtifactSource,
  options: OpenArtifactOptions = {},
): Promise<OpenedArtifact> {
  return openArtifactSource(await toArtifactSource(source), options);
}

/**
 * Options of {@link verifyArtifact} (Node): those of the runtime-neutral verifier, plus input
 * files to recompute the manifest from.
 *
 * @public
 */
export interface VerifyArtifactFileOptions extends VerifyArtifactOptions {
  /** Input files and directories: the manifest is recomputed from them and compared file by file. */
  readonly inputs?: readonly string[];
  /** Options for recomputing the manifest (`base`, `cwd`, `include`, `exclude`, …). */
  readonly manifestOptions?: Omit<BuildManifestOptions, 'signal'>;
}

/**
 * Verifies an artifact in one pass over its bytes: payload digest and size, the header's internal
 * consistency, and, with `inputs`, a manifest recomputed from disk, reporting exactly which files
 * were added, removed or changed. Legacy files are `status: 'legacy'`, never thrown.
 *
 * @example
 * ```ts
 * import { verifyArtifact } from '@plumbline/core/node';
 * const result = await verifyArtifact('gateway.plb', { inputs: ['config/'] });
 * if (result.status === 'mismatch') console.log(result.differences?.changed);
 * ```
 * @throws {@link PlumblineError} `PLB_IO`, `PLB_TRUNCATED`, `PLB_UNSUPPORTED_VERSION`, decoding
 *   errors, and `buildManifest`'s errors for the inputs.
 * @public
 */
export async function verifyArtifact(
  source: NodeArtifactSource,
  options: VerifyArtifactFileOptions = {},
): Promise<ArtifactVerification> {
  const { inputs, manifestOptions, ...rest } = options;
  let manifest = rest.manifest;
  if (inputs !== undefined) {
    manifest = await buildManifest(inputs, {
      ...manifestOptions,
      ...(rest.signal === undefined ? {} : { signal: rest.signal }),
    });
  }
  return verifyArtifactSource(await toArtifactSource(source), {
    ...rest,
    ...(manifest === undefined ? {} : { manifest }),
  });
}
