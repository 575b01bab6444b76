import { PlumblineError } from '../errors.js';
import { limitOption } from '../limit-option.js';
import { sinkClosed, type AuditRecord, type AuditSink } from '../audit/sink.js';
import { encodeLines } from '../audit/encode-lines.js';
import { DurableAppendFile, GroupCommit } from './audit-durable-file.js';

/**
 * Options of {@link createAuditFileSink}. Every limit has a finite default.
 *
 * @public
 */
export interface AuditFileSinkOptions {
  /** The log file; created with mode 0600 when missing, appended to otherwise. */
  readonly path: string;
  /** Sink name for metrics. Default `file`. */
  readonly name?: string;
  /**
   * `batch` (default): `write` resolves after the batch it joined was `fdatasync`ed, so an
   * acknowledged event survives a crash; concurrent writes share one fsync (group commit).
   * `none`: resolves once the OS accepted the bytes (survives a process crash, not a power loss).
   */
  readonly fsync?: 'batch' | 'none';
  /** Most `write` calls committed together. Default 4096. */
  readonly maxBatch?: number;
  /** Rotate when the file would grow past this many bytes. Default 100 MiB. */
  readonly maxBytes?: number;
  /** Rotate when the file is older than this. Default: never. */
  readonly maxAgeMs?: number;
  /** Rotated files kept (`<path>.<UTC time>`); older ones are deleted. Default 10. */
  readonly maxFiles?: number;
}

/**
 * The JSON-lines file sink, with what it repaired on open.
 *
 * @public
 */
export interface AuditFileSink extends AuditSink {
  /** Bytes of a torn last line (an unacknowledged write cut by a crash) removed on open. */
  readonly repairedBytes: number;
  /** The file's path. */
  readonly path: string;
  /** Waits until every accepted write is on disk. */
  flush(): Promise<void>;
  /** Waits for pending writes, then closes the file. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens a JSON-lines audit file sink: one event per line, batched `fdatasync` (group commit),
 * size and time rotation. An event is acknowledged (its `write` resolves) only once it is on disk,
 * so no acknowledged event is lost across a crash; a torn last line left by a crash is cut off
 * when the file is opened again. After a failed write the sink refuses further writes
 * (`PLB_AUDIT_SINK_FAILED`): reopen it.
 *
 * @example
 * ```ts
 * import { createAuditLogger } from '@plumbline/core/audit';
 * import { createAuditFileSink } from '@plumbline/core/node';
 * const sink = await createAuditFileSink({ path: '/var/log/plumbline/audit.log', maxBytes: 64 << 20 });
 * const audit = createAuditLogger({ source: { component: 'control-plane' }, sinks: [{ sink, delivery: 'must-write' }] });
 * ```
 * @throws {@link PlumblineError} `PLB_IO` when the file cannot be opened, `PLB_AUDIT_CONFIG` for bad limits.
 * @public
 */
export async function createAuditFileSink(options: AuditFileSinkOptions): Promise<AuditFileSink> {
  const maxBytes = limitOption(options.maxBytes, {
    name: 'maxBytes',
    code: 'PLB_AUDIT_CONFIG',
    fallback: 100 * 1024 * 1024,
  });
  const maxAge =
    options.maxAgeMs === undefined
      ? Infinity
      : limitOption(options.maxAgeMs, { name: 'maxAgeMs', code: 'PLB_AUDIT_CONFIG' });
  const maxFiles = limitOption(options.maxFiles, {
    name: 'maxFiles',
    code: 'PLB_AUDIT_CONFIG',
    fallback: 10,
  });
  const maxBatch = limitOption(options.maxBatch, {
    name: 'maxBatch',
    code: 'PLB_AUDIT_CONFIG',
    fallback: 4096,
  });
  const name = options.name ?? 'file';
  const file = await DurableAppendFile.open(options.path, {
    fsync: (options.fsync ?? 'batch') === 'batch',
  });
  let failure: unknown;
  let closed = false;
  // Each item is one `write` (records) or one `writeLines` (bytes already encoded).
  const group = new GroupCommit<readonly AuditRecord[] | EncodedLines>(async (items) => {
    if (failure !== undefined) throw failed(name, failure);
    const parts = commitParts(items);
    let size = 0;
    for (const part of parts) size += part.length;
    try {
      if (file.size > 0 && (file.size + size > maxBytes || Date.now() - file.created >= maxAge)) {
        await file.rotate(maxFiles);
      }
      await file.appendParts(parts);
    } catch (error) {
      failure = error;
      throw error;
    }
  }, maxBatch);
  return {
    name,
    path: options.path,
    repairedBytes: file.repairedBytes,
    write(records) {
      if (closed) return sinkClosed(name);
      if (records.length === 0) return group.idle();
      return group.submit(records);
    },
    writeLines(lines) {
      if (closed) return sinkClosed(name);
      if (lines.length === 0) return group.idle();
      return group.submit({ lines });
    },
    flush() {
      return group.idle();
    },
    async close() {
      if (closed) return;
      closed = true;
      await group.idle();
      await file.close();
    },
  };
}

/** What one `writeLines` call submits. */
interface EncodedLines {
  readonly lines: readonly Uint8Array[];
}

/** The bytes of one commit: records encoded as lines, encoded lines as they are. */
function commitParts(items: readonly (readonly AuditRecord[] | EncodedLines)[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let json: string[] = [];
  for (const item of items) {
    if ('lines' in item) {
      if (json.length > 0) parts.push(encodeLines(json));
      json = [];
      parts.push(...item.lines);
    } else {
      for (const r of item) json.push(r.json);
    }
  }
  if (json.length > 0) parts.push(encodeLines(json));
  return parts;
}

function failed(name: string, cause: unknown): PlumblineError {
  return new PlumblineError(
    'PLB_AUDIT_SINK_FAILED',
    `audit sink "${name}" failed earlier and must be reopened`,
    { cause },
  );
}
