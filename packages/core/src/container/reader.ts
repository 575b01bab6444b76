import { PlumblineError } from '../errors.js';

/**
 * Positional reads over something with random access (a file handle, a Blob, an HTTP range
 * reader). `read` returns fewer bytes than asked for only at the end.
 *
 * @public
 */
export interface RandomAccessSource {
  /** Reads up to `length` bytes at `position`. */
  read(position: number, length: number): Promise<Uint8Array>;
  /** Closes the source, when this library opened it. */
  close?(): Promise<void>;
}

/**
 * Where an artifact is read from, in the runtime-neutral API: bytes in memory, a Web stream (or
 * any async iterable of chunks), or a {@link RandomAccessSource}. `@plumbline/core/node` adds file
 * paths and file handles.
 *
 * @public
 */
export type ArtifactSource =
  Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | RandomAccessSource;

/**
 * Sequential reads over an artifact source, so the prefix is read without touching the payload.
 *
 * @internal
 */
export interface ByteReader {
  /** Bytes consumed so far. */
  readonly position: number;
  /** Up to `n` bytes; fewer only at the end. */
  read(n: number): Promise<Uint8Array>;
  /** The remaining bytes, in chunks. */
  rest(chunkSize?: number): AsyncIterable<Uint8Array>;
  /** Releases the source. */
  close(): Promise<void>;
}

const CHUNK = 1024 * 1024;

function isRandomAccess(source: ArtifactSource): source is RandomAccessSource {
  return (
    typeof source === 'object' &&
    !(source instanceof Uint8Array) &&
    typeof (source as RandomAccessSource).read === 'function' &&
    typeof (source as Partial<AsyncIterable<Uint8Array>>)[Symbol.asyncIterator] !== 'function' &&
    !(typeof ReadableStream !== 'undefined' && source instanceof ReadableStream)
  );
}

function bytesReader(bytes: Uint8Array): ByteReader {
  let position = 0;
  return {
    get position() {
      return position;
    },
    read(n) {
      const out = bytes.subarray(position, Math.min(bytes.length, position + n));
      position += out.length;
      return Promise.resolve(out);
    },
    async *rest(chunkSize = CHUNK) {
      while (position < bytes.length) {
        const out = bytes.subarray(position, Math.min(bytes.length, position + chunkSize));
        position += out.length;
        yield out;
      }
    },
    close: () => Promise.resolve(),
  };
}

function randomAccessReader(source: RandomAccessSource): ByteReader {
  let position = 0;
  /** The read {@link ByteReader.rest} started ahead of its consumer (settled, never rejecting). */
  let ahead: Promise<unknown> | undefined;
  return {
    get position() {
      return position;
    },
    async read(n) {
      const out = await source.read(position, n);
      position += out.length;
      return out;
    },
    async *rest(chunkSize = CHUNK) {
      // The next read runs while the consumer handles this chunk (hashing, writing), so reading
      // and the consumer's work overlap. Every read returns new bytes: a chunk stays valid.
      const readAhead = (): Promise<Uint8Array> => {
        const started = source.read(position, chunkSize);
        // Handled here too, so a read the consumer never waits for cannot reject unhandled.
        ahead = started.catch(() => undefined);
        return started;
      };
      let next = readAhead();
      for (;;) {
        const out = await next;
        if (out.length === 0) return;
        position += out.length;
        next = readAhead();
        yield out;
      }
    },
    close: async () => {
      // A consumer that stopped early left one read in flight: let it settle first.
      await ahead;
      await source.close?.();
    },
  };
}

function iterableReader(
  source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
): ByteReader {
  const iterator: AsyncIterator<Uint8Array> =
    typeof ReadableStream !== 'undefined' && source instanceof ReadableStream
      ? streamIterator(source)
      : (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  // Chunks received but not consumed yet (no quadratic concatenation for many small chunks).
  const pending: Uint8Array[] = [];
  let pendingLength = 0;
  let done = false;
  let position = 0;
  const pull = async (): Promise<void> => {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      return;
    }
    const chunk = next.value;
    if (!(chunk instanceof Uint8Array)) {
      throw new PlumblineError('PLB_IO', 'an artifact stream yielded something other than bytes');
    }
    if (chunk.length > 0) {
      pending.push(chunk);
      pendingLength += chunk.length;
    }
  };
  const take = (n: number): Uint8Array => {
    const first = pending[0];
    if (first !== undefined && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) pending.shift();
      else pending[0] = first.subarray(n);
      pendingLength -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = pending[0]!;
      const used = Math.min(chunk.length, n - filled);
      out.set(chunk.subarray(0, used), filled);
      filled += used;
      if (used === chunk.length) pending.shift();
      else pending[0] = chunk.subarray(used);
    }
    pendingLength -= n;
    return out;
  };
  return {
    get position() {
      return position;
    },
    async read(n) {
      while (pendingLength < n && !done) await pull();
      const out = take(Math.min(n, pendingLength));
      position += out.length;
      return out;
    },
    async *rest() {
      for (;;) {
        while (pending.length > 0) {
          const out = pending.shift()!;
          pendingLength -= out.length;
          position += out.length;
          yield out;
        }
        if (done) return;
        await pull();
      }
    },
    close: async () => {
      if (!done) await iterator.return?.();
    },
  };
}

function streamIterator(stream: ReadableStream<Uint8Array>): AsyncIterator<Uint8Array> {
  const reader = stream.getReader();
  return {
    async next() {
      const r = await reader.read();
      return r.done ? { done: true, value: undefined } : { done: false, value: r.value };
    },
    async return() {
      await reader.cancel();
      reader.releaseLock();
      return { done: true, value: undefined };
    },
  };
}

/**
 * A sequential reader over any {@link ArtifactSource}.
 *
 * @internal
 */
export function byteReader(source: ArtifactSource): ByteReader {
  if (source instanceof Uint8Array) return bytesReader(source);
  if (isRandomAccess(source)) return randomAccessReader(source);
  return iterableReader(source);
}

/**
 * Reads exactly `n` bytes or throws `PLB_TRUNCATED` with the offset where the input ended.
 *
 * @internal
 */
export async function readExactly(
  reader: ByteReader,
  n: number,
  what: string,
): Promise<Uint8Array> {
  const start = reader.position;
  const out = await reader.read(n);
  if (out.length < n) {
    throw new PlumblineError(
      'PLB_TRUNCATED',
      `the artifact ends at offset ${start + out.length} inside the ${what} (${n} bytes expected from offset ${start})`,
      { details: { offset: start + out.length, expectedEnd: start + n, section: what } },
    );
  }
  return out;
}
