import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Options of {@link writeFileAtomic} and {@link withAtomicFile}.
 *
 * @public
 */
export interface AtomicFileOptions {
  /** File mode of the new file (default `0o644`). */
  readonly mode?: number;
  /** Flush the file's data to disk before the rename (default `true`). */
  readonly fsync?: boolean;
  /** Open the temporary file for reading too, to read back what was written (default `false`). */
  readonly readable?: boolean;
}

/**
 * Writes a file atomically through `write`: the bytes go to a new temporary file beside `path`
 * (created exclusively), are flushed to disk unless `fsync` is `false`, and the temporary file is
 * renamed over `path`. Readers see the old file or the new one, never a half-written one; when
 * `write` or the rename fails the temporary file is removed and the error is thrown as it is.
 *
 * @example
 * ```ts
 * await withAtomicFile('out/app.plb', async (handle) => {
 *   await handle.write(prefix, 0, prefix.length, 0);
 * });
 * ```
 * @throws The error of `write`, or the file-system error (`ENOENT` for a missing directory, …).
 * @public
 */
export async function withAtomicFile<T>(
  path: string,
  write: (handle: FileHandle) => Promise<T>,
  options: AtomicFileOptions = {},
): Promise<T> {
  const temp = join(
    dirname(resolve(path)),
    `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  const handle = await open(temp, options.readable === true ? 'wx+' : 'wx', options.mode ?? 0o644);
  try {
    let result: T;
    try {
      result = await write(handle);
      if (options.fsync !== false) await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    return result;
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/**
 * Writes `data` to `path` atomically (see {@link withAtomicFile}).
 *
 * @example
 * ```ts
 * await writeFileAtomic('sbom.cdx.json', JSON.stringify(bom));
 * ```
 * @throws The file-system error (`ENOENT` for a missing directory, `EACCES`, …).
 * @public
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicFileOptions = {},
): Promise<void> {
  await withAtomicFile(path, (handle) => handle.writeFile(data), options);
}
