import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PlumblineError } from '../errors.js';
import { limitOption } from '../limit-option.js';
import { sinkClosed, type AuditRecord, type AuditSink } from '../audit/sink.js';
import { encodeLines } from '../audit/encode-lines.js';
import { TransparencyLogAppender } from '../audit/transparency.js';
import { verifyTransparencyLog } from '../audit/transparency-verify.js';
import type { SignatureVerifier, Signer } from '../signer/types.js';
import { DurableAppendFile, GroupCommit } from './audit-durable-file.js';

/**
 * Options of {@link createAuditTransparencyLog}. Every limit has a finite default.
 *
 * @public
 */
export interface AuditTransparencyLogOptions {
  /** The log file; created when missing, verified and continued otherwise. */
  readonly path: string;
  /** Signs checkpoints (Ed25519 or ECDSA P-256 via `createKeySigner`). Without one, checkpoints are unsigned. */
  readonly signer?: Signer;
  /**
   * Checks the existing log's checkpoint signatures on open (default: the signer's own verifier
   * when it has one, such as a `KeySigner`).
   */
  readonly verifier?: SignatureVerifier;
  /** Checkpoint after this many records. Default 1000. */
  readonly checkpointEvery?: number;
  /** Checkpoint at least this often while records are pending. Default 10,000 ms. */
  readonly checkpointIntervalMs?: number;
  /** The log's origin line for a new log (default `plumbline-audit/<uuid>`). */
  readonly origin?: string;
  /** Sink name for metrics. Default `transparency-log`. */
  readonly name?: string;
  /** `batch` (default) or `none`, as for the file sink. */
  readonly fsync?: 'batch' | 'none';
  /** Most `write` calls committed together. Default 4096. */
  readonly maxBatch?: number;
  /** Called when signing a checkpoint failed (records are still written; the next checkpoint retries). */
  readonly onError?: (error: PlumblineError) => void;
}

/**
 * The transparency-log sink.
 *
 * @public
 */
export interface AuditTransparencyLog extends AuditSink {
  /** The log file's path, as given in the options. */
  readonly path: string;
  /** The log's origin. */
  readonly origin: string;
  /** Records in the log. */
  readonly size: number;
  /** Writes a checkpoint now (if records are pending) and waits for it. */
  checkpoint(): Promise<void>;
  /** Waits until every accepted write is on disk. */
  flush(): Promise<void>;
  /** Waits for pending writes, then closes the file. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens a transparency log: a JSON-lines file where every event is a record line that is a leaf
 * of an RFC 9162 Merkle tree (chained to the previous record), with periodic checkpoints (tree
 * size, root, time, consistency proof) signed through the {@link Signer}. An existing log is
 * verified first and continued; a log that fails verification is refused. Acknowledged records
 * are fsynced as in the file sink. `plumbline audit verify` checks the result.
 *
 * @example
 * ```ts
 * import { createKeySigner } from '@plumbline/core/signer';
 * import { createAuditTransparencyLog } from '@plumbline/core/node';
 * const signer = await createKeySigner({ privateKey: await readFile('audit-key.pem', 'utf8') });
 * const sink = await createAuditTransparencyLog({ path: 'audit.log', signer });
 * ```
 * @throws {@link PlumblineError} `PLB_AUDIT_LOG_TAMPERED` when the existing log fails
 * verification, `PLB_IO` when it cannot be opened, `PLB_AUDIT_CONFIG` for bad limits.
 * @public
 */
export async function createAuditTransparencyLog(
  options: AuditTransparencyLogOptions,
): Promise<AuditTransparencyLog> {
  const every = positive(options.checkpointEvery, 1000, 'checkpointEvery');
  const intervalMs = positive(options.checkpointIntervalMs, 10_000, 'checkpointIntervalMs');
  const maxBatch = positive(options.maxBatch, 4096, 'maxBatch');
  const name = options.name ?? 'transparency-log';
  const signer = options.signer;
  const verifier =
    options.verifier ??
    (signer && typeof (signer as { verifier?: unknown }).verifier === 'function'
      ? (signer as unknown as { verifier(): SignatureVerifier }).verifier()
      : undefined);
  const onError = options.onError ?? (() => {});

  let appender: TransparencyLogAppender | undefined;
  const exists = await stat(options.path).then(
    (s) => s.size > 0,
    () => false,
  );
  if (exists) {
    const report = await verifyTransparencyLog(
      createReadStream(options.path),
      verifier ? { verifier } : {},
    );
    if (!report.ok || report.format === 'json-lines') {
      throw new PlumblineError(
        'PLB_AUDIT_LOG_TAMPERED',
        report.format === 'json-lines'
          ? `${options.path} is a plain JSON-lines log, not a transparency log`
          : `${options.path} failed verification: ${report.problem?.message ?? 'unknown problem'}`,
        { details: { path: options.path, ...(report.problem ? { problem: report.problem } : {}) } },
      );
    }
    if (report.state) appender = TransparencyLogAppender.resume(report.state);
  }
  const file = await DurableAppendFile.open(options.path, {
    fsync: (options.fsync ?? 'batch') === 'batch',
  });
  let log =
    appender ??
    TransparencyLogAppender.create(options.origin === undefined ? {} : { origin: options.origin });
  let failure: unknown;
  let closed = false;
  let lastCheckpoint = Date.now();

  type Item = { kind: 'records'; records: readonly AuditRecord[] } | { kind: 'checkpoint' };
  const group = new GroupCommit<Item>(async (items) => {
    if (failure !== undefined) {
      throw new PlumblineError(
        'PLB_AUDIT_SINK_FAILED',
        `audit sink "${name}" failed earlier and must be reopened`,
        { cause: failure },
      );
    }
    const lines: string[] = [];
    let force = false;
    // Work on a copy: the log moves on only once the bytes are on disk.
    const next = TransparencyLogAppender.resume(log.state());
    let signFailed = false;
    const sign = async (): Promise<void> => {
      if (signFailed) return;
      try {
        lines.push(await next.checkpoint(signer ? { signer } : {}));
        lastCheckpoint = Date.now();
      } catch (error) {
        signFailed = true;
        onError(
          new PlumblineError('PLB_AUDIT_CHECKPOINT_FAILED', 'signing an audit checkpoint failed', {
            cause: error,
          }),
        );
      }
    };
    for (const item of items) {
      if (item.kind === 'checkpoint') {
        force = true;
        continue;
      }
      for (const r of item.records) {
        lines.push(next.append(r.json));
        if (next.unsealed >= every) await sign();
      }
    }
    if (next.unsealed > 0 && (force || Date.now() - lastCheckpoint >= intervalMs)) await sign();
    if (lines.length === 0) return;
    try {
      await file.append(encodeLines(lines));
    } catch (error) {
      failure = error;
      throw error;
    }
    log = next;
  }, maxBatch);

  // A new log starts with a checkpoint of the empty tree: it pins the origin and the key.
  if (!appender) {
    try {
      await file.append(encodeLines([await log.checkpoint(signer ? { signer } : {})]));
    } catch (error) {
      await file.close().catch(() => undefined);
      throw PlumblineError.is(error)
        ? error
        : new PlumblineError(
            'PLB_AUDIT_CHECKPOINT_FAILED',
            'signing the first audit checkpoint failed',
            { cause: error },
          );
    }
  }

  const timer = setInterval(() => {
    if (log.unsealed > 0 && !closed) group.submit({ kind: 'checkpoint' }).catch(() => undefined);
  }, intervalMs);
  timer.unref();

  return {
    name,
    path: options.path,
    get origin() {
      return log.origin;
    },
    get size() {
      return log.size;
    },
    write(records) {
      if (closed) return sinkClosed(name);
      if (records.length === 0) return group.idle();
      return group.submit({ kind: 'records', records });
    },
    checkpoint() {
      return group.submit({ kind: 'checkpoint' });
    },
    flush() {
      return group.idle();
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await group.idle();
      if (log.unsealed > 0 && failure === undefined)
        await group.submit({ kind: 'checkpoint' }).catch(() => undefined);
      await file.close();
    },
  };
}

function positive(value: number | undefined, fallback: number, option: string): number {
  return limitOption(value, { name: option, code: 'PLB_AUDIT_CONFIG', fallback });
}
