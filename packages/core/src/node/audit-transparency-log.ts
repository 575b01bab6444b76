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
  const code = 'PLB_AUDIT_CONFIG';
  const every = limitOption(options.checkpointEvery, {
    name: 'checkpointEvery',
    code,
    fallback: 1000,
  });
  const intervalMs = limitOption(options.checkpointIntervalMs, {
    name: 'checkpointIntervalMs',
    code,
    fallback: 10_000,
  });
  const maxBatch = limitOption(options.maxBatch, { name: 'maxBatch', code, fallback: 4096 });
  const name = options.name ?? 'transparency-log';
  const signer = options.signer;
  const appender = await resumeLog(options.path, verifierOf(options));
  const file = await DurableAppendFile.open(options.path, {
    fsync: (options.fsync ?? 'batch') === 'batch',
  });
  const state: WriterState = {
    log:
      appender ??
      TransparencyLogAppender.create(
        options.origin === undefined ? {} : { origin: options.origin },
      ),
    failure: undefined,
    lastCheckpoint: Date.now(),
  };
  let closed = false;
  const settings = { name, signer, every, intervalMs, onError: options.onError ?? (() => {}) };
  const group = new GroupCommit<Item>(
    (items) => commitItems(state, file, items, settings),
    maxBatch,
  );
  // A new log starts with a checkpoint of the empty tree: it pins the origin and the key.
  if (!appender) await writeFirstCheckpoint(file, state.log, signer);

  const timer = setInterval(() => {
    if (state.log.unsealed > 0 && !closed)
      group.submit({ kind: 'checkpoint' }).catch(() => undefined);
  }, intervalMs);
  timer.unref();

  return {
    name,
    path: options.path,
    get origin() {
      return state.log.origin;
    },
    get size() {
      return state.log.size;
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
      if (state.log.unsealed > 0 && state.failure === undefined)
        await group.submit({ kind: 'checkpoint' }).catch(() => undefined);
      await file.close();
    },
  };
}

type Item = { kind: 'records'; records: readonly AuditRecord[] } | { kind: 'checkpoint' };

/** What the writer keeps between group commits. */
interface WriterState {
  /** The log as on disk. */
  log: TransparencyLogAppender;
  /** The write error that broke the sink, if any. */
  failure: unknown;
  /** When the last checkpoint was written (ms). */
  lastCheckpoint: number;
}

interface WriterSettings {
  readonly name: string;
  readonly signer: Signer | undefined;
  readonly every: number;
  readonly intervalMs: number;
  readonly onError: (error: PlumblineError) => void;
}

/** The verifier of existing checkpoints: the option, else the signer's own. */
function verifierOf(options: AuditTransparencyLogOptions): SignatureVerifier | undefined {
  const signer = options.signer;
  return (
    options.verifier ??
    (signer && typeof (signer as { verifier?: unknown }).verifier === 'function'
      ? (signer as unknown as { verifier(): SignatureVerifier }).verifier()
      : undefined)
  );
}

/** An existing, non-empty log is verified and continued; `undefined` when there is none. */
async function resumeLog(
  path: string,
  verifier: SignatureVerifier | undefined,
): Promise<TransparencyLogAppender | undefined> {
  const exists = await stat(path).then(
    (s) => s.size > 0,
    () => false,
  );
  if (!exists) return undefined;
  const report = await verifyTransparencyLog(createReadStream(path), verifier ? { verifier } : {});
  if (!report.ok || report.format === 'json-lines') {
    throw new PlumblineError(
      'PLB_AUDIT_LOG_TAMPERED',
      report.format === 'json-lines'
        ? `${path} is a plain JSON-lines log, not a transparency log`
        : `${path} failed verification: ${report.problem?.message ?? 'unknown problem'}`,
      { details: { path, ...(report.problem ? { problem: report.problem } : {}) } },
    );
  }
  return report.state ? TransparencyLogAppender.resume(report.state) : undefined;
}

async function writeFirstCheckpoint(
  file: DurableAppendFile,
  log: TransparencyLogAppender,
  signer: Signer | undefined,
): Promise<void> {
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

/**
 * One group commit: the records appended (a checkpoint every `every` records, and one when asked
 * or due), written in one append; the log moves on only once the bytes are on disk.
 */
async function commitItems(
  state: WriterState,
  file: DurableAppendFile,
  items: readonly Item[],
  settings: WriterSettings,
): Promise<void> {
  if (state.failure !== undefined) {
    throw new PlumblineError(
      'PLB_AUDIT_SINK_FAILED',
      `audit sink "${settings.name}" failed earlier and must be reopened`,
      { cause: state.failure },
    );
  }
  const lines: string[] = [];
  let force = false;
  // Work on a copy: the log moves on only once the bytes are on disk.
  const next = TransparencyLogAppender.resume(state.log.state());
  let signFailed = false;
  const sign = async (): Promise<void> => {
    if (signFailed) return;
    try {
      lines.push(await next.checkpoint(settings.signer ? { signer: settings.signer } : {}));
      state.lastCheckpoint = Date.now();
    } catch (error) {
      signFailed = true;
      settings.onError(
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
      if (next.unsealed >= settings.every) await sign();
    }
  }
  const due = Date.now() - state.lastCheckpoint >= settings.intervalMs;
  if (next.unsealed > 0 && (force || due)) await sign();
  if (lines.length === 0) return;
  try {
    await file.append(encodeLines(lines));
  } catch (error) {
    state.failure = error;
    throw error;
  }
  state.log = next;
}
