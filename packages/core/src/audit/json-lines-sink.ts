import { sinkClosed, type AuditRecord, type AuditSink } from './sink.js';
import { encodeLines } from './encode-lines.js';
import { concatBytes } from '../encoding/hex.js';

/**
 * Options of {@link createJsonLinesSink}.
 *
 * @public
 */
export interface JsonLinesSinkOptions {
  /** Where lines go: a WHATWG `WritableStream` of bytes (in Node: `Writable.toWeb(stream)`). */
  readonly stream: WritableStream<Uint8Array>;
  /** Sink name for metrics. Default `json-lines`. */
  readonly name?: string;
  /** Close the stream when the sink closes. Default `true`. */
  readonly closeStream?: boolean;
}

/**
 * A sink writing each event as one JSON line (`\n`-terminated) to a byte stream. `write` resolves
 * when the stream accepted the bytes (durability is the stream's: use the file sink from
 * `@plumbline/core/node` for fsync).
 *
 * @example
 * ```ts
 * import { Writable } from 'node:stream';
 * import { createJsonLinesSink } from '@plumbline/core/audit';
 * const sink = createJsonLinesSink({ stream: Writable.toWeb(process.stdout), closeStream: false });
 * ```
 * @public
 */
export function createJsonLinesSink(options: JsonLinesSinkOptions): AuditSink {
  const writer = options.stream.getWriter();
  const name = options.name ?? 'json-lines';
  let closed = false;
  let last: Promise<void> = Promise.resolve();
  const send = (bytes: Uint8Array): Promise<void> => {
    if (closed) return sinkClosed(name);
    const p = writer.write(bytes);
    last = p.catch(() => undefined);
    return p;
  };
  return {
    name,
    write(records) {
      if (records.length === 0 && !closed) return last;
      return send(encodeLines(records.map((r: AuditRecord) => r.json)));
    },
    writeLines(lines) {
      if (lines.length === 0 && !closed) return last;
      // The stream may hold on to a chunk after accepting it: give it a copy.
      return send(concatBytes(...lines));
    },
    flush() {
      return writer.ready.then(() => last);
    },
    async close() {
      if (closed) return;
      closed = true;
      await last;
      if (options.closeStream === false) writer.releaseLock();
      else await writer.close();
    },
  };
}
