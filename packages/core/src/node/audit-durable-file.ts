import { constants } from 'node:fs';
import { open, rename, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PlumblineError } from '../errors.js';

/**
 * An append-only file for audit logs: opened `O_APPEND`, a torn last line (a write cut short by a
 * crash, never acknowledged) cut off on open, and `fdatasync` after every batch when `fsync` is on.
 *
 * @internal
 */
export class DurableAppendFile {
  readonly path: string;
  readonly #fsync: boolean;
  #handle: FileHandle;
  #size: number;
  #created: number;
  /** Bytes of a torn last line removed when the file was opened. */
  readonly repairedBytes: number;

  private constructor(
    path: string,
    handle: FileHandle,
    size: number,
    created: number,
    repaired: number,
    fsync: boolean,
  ) {
    this.path = path;
    this.#handle = handle;
    this.#size = size;
    this.#created = created;
    this.repairedBytes = repaired;
    this.#fsync = fsync;
  }

  /** Opens (creating with mode 0600) and repairs a torn tail. */
  static async open(
    path: string,
    options: { readonly fsync: boolean; readonly mode?: number },
  ): Promise<DurableAppendFile> {
    let handle: FileHandle;
    try {
      handle = await open(
        path,
        constants.O_RDWR | constants.O_APPEND | constants.O_CREAT,
        options.mode ?? 0o600,
      );
    } catch (error) {
      throw ioError(path, 'open', error);
    }
    try {
      const stat = await handle.stat();
      let size = stat.size;
      const repaired = await cutTornTail(handle, size);
      size -= repaired;
      if (options.fsync) {
        await handle.datasync();
        await syncDirectory(dirname(path));
      }
      return new DurableAppendFile(
        path,
        handle,
        size,
        stat.birthtimeMs || stat.ctimeMs || Date.now(),
        repaired,
        options.fsync,
      );
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw PlumblineError.is(error) ? error : ioError(path, 'open', error);
    }
  }

  get size(): number {
    return this.#size;
  }

  /** Milliseconds since the epoch when the current file was created. */
  get created(): number {
    return this.#created;
  }

  /** Appends all of `data`, then syncs it to disk when `fsync` is on. */
  async append(data: Uint8Array): Promise<void> {
    return this.appendParts([data]);
  }

  /**
   * Appends `parts` one after the other (one `writev` when the system takes them all at once),
   * then syncs them to disk when `fsync` is on.
   */
  async appendParts(parts: readonly Uint8Array[]): Promise<void> {
    let total = 0;
    for (const part of parts) total += part.length;
    try {
      let rest = parts;
      let left = total;
      while (left > 0) {
        const { bytesWritten } =
          rest.length === 1
            ? await this.#handle.write(rest[0]!, 0, rest[0]!.length)
            : await this.#handle.writev(rest as Uint8Array[]);
        left -= bytesWritten;
        if (left > 0) rest = skipBytes(rest, bytesWritten);
      }
      this.#size += total;
      if (this.#fsync) await this.#handle.datasync();
    } catch (error) {
      throw ioError(this.path, 'write', error);
    }
  }

  /**
   * Renames the current file to `<path>.<UTC time>` and starts a new one; keeps the newest
   * `maxFiles` rotated files.
   */
  async rotate(maxFiles: number): Promise<string> {
    if (this.#fsync) await this.#handle.datasync();
    await this.#handle.close();
    const stamp = new Date().toISOString().replace(/[:]/g, '-');
    let target = `${this.path}.${stamp}`;
    let i = 1;
    for (;;) {
      try {
        const h = await open(target, 'r');
        await h.close();
        target = `${this.path}.${stamp}.${i++}`;
      } catch {
        break;
      }
    }
    try {
      await rename(this.path, target);
      this.#handle = await open(
        this.path,
        constants.O_RDWR | constants.O_APPEND | constants.O_CREAT,
        0o600,
      );
    } catch (error) {
      throw ioError(this.path, 'rotate', error);
    }
    this.#size = 0;
    this.#created = Date.now();
    if (this.#fsync) await syncDirectory(dirname(this.path));
    await pruneRotated(this.path, maxFiles);
    return target;
  }

  async close(): Promise<void> {
    try {
      if (this.#fsync) await this.#handle.datasync();
    } finally {
      await this.#handle.close();
    }
  }
}

/**
 * `parts` without their first `n` bytes (after a short write), empty parts left out.
 *
 * @internal
 */
export function skipBytes(parts: readonly Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let skip = n;
  for (const part of parts) {
    if (skip >= part.length) {
      skip -= part.length;
      continue;
    }
    out.push(skip > 0 ? part.subarray(skip) : part);
    skip = 0;
  }
  return out;
}

async function cutTornTail(handle: FileHandle, size: number): Promise<number> {
  if (size === 0) return 0;
  const chunk = 64 * 1024;
  let end = size;
  const buffer = new Uint8Array(chunk);
  while (end > 0) {
    const start = Math.max(0, end - chunk);
    const { bytesRead } = await handle.read(buffer, 0, end - start, start);
    const view = buffer.subarray(0, bytesRead);
    const nl = view.lastIndexOf(0x0a);
    if (nl !== -1) {
      const keep = start + nl + 1;
      if (keep < size) await handle.truncate(keep);
      return size - keep;
    }
    end = start;
  }
  await handle.truncate(0);
  return size;
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const h = await open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // Some platforms (Windows) cannot open directories; the file itself is synced.
  }
}

async function pruneRotated(path: string, maxFiles: number): Promise<void> {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  const rotated = (await readdir(dir)).filter((f) => f.startsWith(prefix)).sort();
  for (const f of rotated.slice(0, Math.max(0, rotated.length - maxFiles))) {
    await unlink(join(dir, f)).catch(() => undefined);
  }
}

function ioError(path: string, op: string, cause: unknown): PlumblineError {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return new PlumblineError(
    'PLB_IO',
    `cannot ${op} audit log ${path}${typeof code === 'string' ? ` (${code})` : ''}`,
    {
      cause,
      details: { path, op },
    },
  );
}

/**
 * Serialises batches: items submitted while a batch is being committed form the next batch, so
 * one fsync acknowledges many concurrent writers (group commit).
 *
 * @internal
 */
export class GroupCommit<T> {
  readonly #commit: (items: T[]) => Promise<void>;
  readonly #maxItems: number;
  #queue: { item: T; resolve: () => void; reject: (e: unknown) => void }[] = [];
  #running: Promise<void> | undefined;

  constructor(commit: (items: T[]) => Promise<void>, maxItems: number) {
    this.#commit = commit;
    this.#maxItems = maxItems;
  }

  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#running ??= this.#run();
    });
  }

  /** Resolves when everything submitted so far is committed (or failed). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #run(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxItems);
        try {
          await this.#commit(batch.map((b) => b.item));
          for (const b of batch) b.resolve();
        } catch (error) {
          for (const b of batch) b.reject(error);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }
}
