import { PlumblineError } from '../errors.js';
import { limitOption } from '../limit-option.js';
import { bytesEqual, fromHex, toHex } from '../encoding/hex.js';
import { utf8 } from '../encoding/utf8.js';
import { formatDigest, isDigestString, parseDigest } from '../hash/digest.js';
import { leafHash } from '../merkle/hashes.js';
import { MerkleTree } from '../merkle/tree.js';
import { verifyConsistency, verifyInclusion } from '../merkle/verify.js';
import { decodeBase64 } from '../encoding/base64.js';
import type { SignatureVerifier } from '../signer/types.js';
import { CompactRange } from './compact-range.js';
import {
  TLOG_GENESIS_PREV,
  checkpointSignedBody,
  type CheckpointSignature,
  type TransparencyCheckpoint,
  type TransparencyLogState,
} from './transparency.js';

/**
 * Kinds of tampering {@link verifyTransparencyLog} reports.
 *
 * @public
 */
export type TamperKind =
  | 'modified'
  | 'truncated'
  | 'deleted'
  | 'reordered'
  | 'inserted'
  | 'malformed'
  | 'bad_signature'
  | 'inconsistent_checkpoint';

/**
 * The first problem found in a log.
 *
 * @public
 */
export interface TransparencyProblem {
  /** What kind of tampering or damage was found. */
  readonly kind: TamperKind;
  /** 1-based line number where the problem shows. */
  readonly position: number;
  /** The record's sequence number concerned, when known. */
  readonly seq?: number;
  /** The event id concerned, when known. */
  readonly event_id?: string;
  /** A human-readable description of the problem, naming the line(s) concerned. */
  readonly message: string;
}

/**
 * What {@link verifyTransparencyLog} found.
 *
 * @public
 */
export interface TransparencyLogReport {
  /** `true` when no tampering was found (a torn last line is not tampering: see `torn_tail`). */
  readonly ok: boolean;
  /** `transparency-log`, or `json-lines` for a plain event log without tamper evidence. */
  readonly format: 'transparency-log' | 'json-lines' | 'empty';
  /** The log's origin, from its first checkpoint; absent when no checkpoint was read. */
  readonly origin?: string;
  /** Records (events) read. */
  readonly records: number;
  /** Checkpoints that verified (before the first problem, if any). */
  readonly checkpoints: number;
  /** `verified`: every checkpoint's signature checked; `unchecked`: no verifier was given. */
  readonly signatures: 'verified' | 'unchecked';
  /** Tree size of the last valid checkpoint: records up to it are covered. */
  readonly sealed_size: number;
  /** Root of the last valid checkpoint. */
  readonly sealed_root?: string;
  /** Time of the last valid checkpoint. */
  readonly sealed_time?: string;
  /**
   * Records after the last checkpoint. They are chained but not yet covered by a signed tree
   * head, so a truncation after the last checkpoint cannot be told from a log that ends there.
   */
  readonly unsealed_records: number;
  /** An incomplete last line (a write cut short by a crash); it was never acknowledged. */
  readonly torn_tail?: { readonly position: number; readonly bytes: number };
  /** The first problem found; absent when none was. */
  readonly problem?: TransparencyProblem;
  /** State to resume appending from (only when `ok`). */
  readonly state?: TransparencyLogState;
}

/**
 * Options of {@link verifyTransparencyLog}. Every limit has a finite default.
 *
 * @public
 */
export interface TransparencyVerifyOptions {
  /** Checks every checkpoint's signature with this key; a checkpoint without one is a failure. */
  readonly verifier?: SignatureVerifier;
  /** Longest line accepted. Default 1 MiB. */
  readonly maxLineBytes?: number;
  /** Most records accepted. Default 1e9. */
  readonly maxRecords?: number;
  /** Most proof hashes in one checkpoint. Default 64. */
  readonly maxProofLength?: number;
  /** Aborts reading the log: the call then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

const RECORD_RE = /^\{"seq":(0|[1-9]\d{0,15}),"prev":"([0-9a-f]{64})","event":\{/;
const EVENT_ID_RE = /"id":"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"/;

/** Splits byte chunks into lines, refusing lines over the limit. @internal */
export async function* readLines(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  maxLineBytes: number,
  signal?: AbortSignal,
): AsyncGenerator<{ bytes: Uint8Array; complete: boolean }> {
  let carry: Uint8Array[] = [];
  let carryLen = 0;
  for await (const chunk of source) {
    signal?.throwIfAborted();
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      const part = chunk.subarray(start, nl);
      if (carryLen + part.length > maxLineBytes) throw lineTooLong(maxLineBytes);
      let line: Uint8Array;
      if (carryLen === 0) line = part;
      else {
        line = new Uint8Array(carryLen + part.length);
        let o = 0;
        for (const c of carry) {
          line.set(c, o);
          o += c.length;
        }
        line.set(part, o);
        carry = [];
        carryLen = 0;
      }
      yield { bytes: line, complete: true };
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (carryLen + rest.length > maxLineBytes) throw lineTooLong(maxLineBytes);
      carry.push(rest.slice());
      carryLen += rest.length;
    }
  }
  if (carryLen > 0) {
    const line = new Uint8Array(carryLen);
    let o = 0;
    for (const c of carry) {
      line.set(c, o);
      o += c.length;
    }
    yield { bytes: line, complete: false };
  }
}

function lineTooLong(max: number): PlumblineError {
  return new PlumblineError('PLB_AUDIT_LOG_LIMIT', `a log line is longer than ${max} bytes`, {
    details: { maxLineBytes: max },
  });
}

function eventIdOf(text: string): { event_id?: string } {
  const id = EVENT_ID_RE.exec(text)?.[1];
  return id === undefined ? {} : { event_id: id };
}

/**
 * A line holding a record or a checkpoint in other bytes than the log wrote (keys reordered,
 * spaces added: parsed and serialised again) was modified, not inserted.
 */
function reserialised(text: string, position: number): TransparencyProblem | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (Number.isSafeInteger(v['seq']) && typeof v['prev'] === 'string' && 'event' in v) {
    const seq = v['seq'] as number;
    return {
      kind: 'modified',
      position,
      seq,
      ...eventIdOf(text),
      message: `record ${seq} at line ${position} was modified (re-serialised: its bytes are not the ones logged)`,
    };
  }
  if (typeof v['checkpoint'] === 'object' && v['checkpoint'] !== null) {
    return {
      kind: 'modified',
      position,
      message: `checkpoint at line ${position} was modified (re-serialised: its bytes are not the ones logged)`,
    };
  }
  return undefined;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function decode(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

interface ParsedCheckpoint {
  checkpoint: TransparencyCheckpoint;
  prev: string;
  signature?: CheckpointSignature;
}

function parseCheckpointLine(text: string, maxProof: number): ParsedCheckpoint | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const c = v['checkpoint'] as Record<string, unknown> | undefined;
  if (typeof c !== 'object' || c === null) return undefined;
  const ok =
    typeof c['origin'] === 'string' &&
    Number.isSafeInteger(c['tree_size']) &&
    (c['tree_size'] as number) >= 0 &&
    isDigestString(c['root']) &&
    typeof c['time'] === 'string' &&
    Number.isSafeInteger(c['prev_size']) &&
    (c['prev_size'] as number) >= 0 &&
    Array.isArray(c['consistency']) &&
    (c['consistency'] as unknown[]).length <= maxProof &&
    (c['consistency'] as unknown[]).every(
      (h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h),
    ) &&
    typeof v['prev'] === 'string' &&
    /^[0-9a-f]{64}$/.test(v['prev']);
  if (!ok) return undefined;
  const s = v['signature'] as Record<string, unknown> | undefined;
  if (
    s !== undefined &&
    (typeof s !== 'object' ||
      s === null ||
      typeof s['sig'] !== 'string' ||
      typeof s['alg'] !== 'string')
  ) {
    return undefined;
  }
  return {
    checkpoint: c as unknown as TransparencyCheckpoint,
    prev: v['prev'] as string,
    ...(s ? { signature: s as unknown as CheckpointSignature } : {}),
  };
}

/**
 * Verifies a transparency log (the bytes of the file, as chunks): every record against the hash
 * chain and its checkpoint, every checkpoint's signature (with `verifier`) and its consistency
 * proof from the previous one. Reports the first modified, deleted, reordered or inserted record
 * with its line number; records after the last checkpoint and a torn last line are reported as
 * such. A plain JSON-lines event log is recognised and reported as `json-lines` (no tamper
 * evidence).
 *
 * @example
 * ```ts
 * import { createReadStream } from 'node:fs';
 * import { verifyTransparencyLog } from '@plumbline/core/audit';
 * const report = await verifyTransparencyLog(createReadStream('audit.log'), { verifier });
 * if (!report.ok) console.error(report.problem);
 * ```
 * @throws {@link PlumblineError} `PLB_AUDIT_LOG_LIMIT` for a line or record count over a limit;
 *   `PLB_AUDIT_CONFIG` for a limit that is not a positive integer.
 * @public
 */
export async function verifyTransparencyLog(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: TransparencyVerifyOptions = {},
): Promise<TransparencyLogReport> {
  const limits = logLimits(options, 1e9);
  const walk = new LogWalk(options, limits);
  const maxLine = limits.maxLineBytes;
  for await (const { bytes, complete } of readLines(source, maxLine, options.signal)) {
    if (!(await walk.line(bytes, complete))) break;
  }
  return walk.report();
}

/** The limits of reading a log, checked. */
interface LogLimits {
  readonly maxLineBytes: number;
  readonly maxRecords: number;
  readonly maxProofLength: number;
}

function logLimits(
  options: Pick<TransparencyVerifyOptions, 'maxLineBytes' | 'maxRecords' | 'maxProofLength'>,
  defaultMaxRecords: number,
): LogLimits {
  const code = 'PLB_AUDIT_CONFIG';
  return {
    maxLineBytes: limitOption(options.maxLineBytes, {
      name: 'maxLineBytes',
      code,
      fallback: 1024 * 1024,
    }),
    maxRecords: limitOption(options.maxRecords, {
      name: 'maxRecords',
      code,
      fallback: defaultMaxRecords,
    }),
    maxProofLength: limitOption(options.maxProofLength, {
      name: 'maxProofLength',
      code,
      fallback: 64,
    }),
  };
}

/** A parsed checkpoint line (see {@link parseCheckpointLine}). */
type CheckpointLine = NonNullable<ReturnType<typeof parseCheckpointLine>>;

/**
 * The state of one {@link verifyTransparencyLog} walk: the trees rebuilt from the records so far,
 * the last checkpoint, and the first problem. Each line is one step; the walk stops at the first
 * problem (or, after a gap, at the missing record).
 */
class LogWalk {
  readonly #maxRecords: number;
  readonly #maxProof: number;
  readonly #verifier: SignatureVerifier | undefined;
  readonly #range = new CompactRange();
  #checkpointRange = new CompactRange();
  #pending: Uint8Array[] = [];
  #lastLeaf = TLOG_GENESIS_PREV;
  #lastRecordPos = 0;
  #origin: string | undefined;
  #position = 0;
  #checkpoints = 0;
  #sealedSize = 0;
  #sealedRoot: string | undefined;
  #sealedTime: string | undefined;
  #format: TransparencyLogReport['format'] = 'empty';
  #plainRecords = 0;
  #torn: { position: number; bytes: number } | undefined;
  #problem: TransparencyProblem | undefined;
  // Positions of records by seq, to name duplicates.
  #positions = new Float64Array(1024);
  // After a gap: the seq whose later appearance means "reordered" rather than "deleted".
  #gap: { seq: number; position: number; found: number } | undefined;

  constructor(options: TransparencyVerifyOptions, limits: LogLimits) {
    this.#maxRecords = limits.maxRecords;
    this.#maxProof = limits.maxProofLength;
    this.#verifier = options.verifier;
  }

  /** One line of the log; `false` when the walk is over. */
  async line(bytes: Uint8Array, complete: boolean): Promise<boolean> {
    const position = ++this.#position;
    if (!complete) {
      this.#torn = { position, bytes: bytes.length };
      return false;
    }
    const text = decode(bytes);
    if (this.#gap) return this.#lookForMissing(text);
    let problem: TransparencyProblem | undefined;
    if (text === undefined) {
      problem = { kind: 'malformed', position, message: `line ${position} is not valid UTF-8` };
    } else {
      const rec = RECORD_RE.exec(text);
      if (rec) problem = this.#record(rec, text, bytes);
      else if (text.startsWith('{"checkpoint":')) problem = await this.#checkpoint(text);
      else problem = this.#otherLine(text);
    }
    this.#problem = problem;
    return problem === undefined;
  }

  /** After a gap, only the missing record matters: found later means reordered. */
  #lookForMissing(text: string | undefined): boolean {
    const gap = this.#gap!;
    const m = text === undefined ? null : RECORD_RE.exec(text);
    if (m && Number(m[1]) === gap.seq) {
      gap.found = this.#position;
      return false;
    }
    return true;
  }

  /** A record line: in sequence, complete, chained to the previous one. */
  #record(rec: RegExpExecArray, text: string, bytes: Uint8Array): TransparencyProblem | undefined {
    const position = this.#position;
    if (this.#format === 'json-lines') {
      return {
        kind: 'inserted',
        position,
        message: `line ${position} is a log record inside a plain event log`,
      };
    }
    if (this.#format === 'empty') this.#format = 'transparency-log';
    const seq = Number(rec[1]);
    const n = this.#range.size;
    if (!text.endsWith('}')) {
      return {
        kind: 'truncated',
        position,
        seq,
        message: `record ${seq} at line ${position} was cut short (not a complete JSON object)`,
      };
    }
    if (seq > n) {
      this.#gap = { seq: n, position, found: 0 };
      return undefined;
    }
    if (seq < n) {
      return {
        kind: 'inserted',
        position,
        seq,
        ...eventIdOf(text),
        message: `record ${seq} at line ${position} repeats the record at line ${this.#positions[seq]}: one of them was inserted`,
      };
    }
    if (rec[2] !== this.#lastLeaf) return this.#brokenChain(n);
    this.#append(bytes, n);
    return undefined;
  }

  /** Record `n` does not chain to the bytes before it: the previous record was modified. */
  #brokenChain(n: number): TransparencyProblem {
    const position = this.#position;
    if (n === 0) {
      return {
        kind: 'modified',
        position,
        seq: 0,
        message: `the first record (line ${position}) does not start the chain`,
      };
    }
    return {
      kind: 'modified',
      position: this.#lastRecordPos,
      seq: n - 1,
      message: `record ${n - 1} at line ${this.#lastRecordPos} was modified (record ${n} at line ${position} chains to other bytes)`,
    };
  }

  #append(bytes: Uint8Array, n: number): void {
    if (n >= this.#maxRecords) {
      throw new PlumblineError(
        'PLB_AUDIT_LOG_LIMIT',
        `the log has more than ${this.#maxRecords} records`,
        { details: { maxRecords: this.#maxRecords } },
      );
    }
    const h = this.#range.appendInput(bytes);
    this.#pending.push(h);
    this.#lastLeaf = toHex(h);
    this.#lastRecordPos = this.#position;
    if (n >= this.#positions.length) {
      const bigger = new Float64Array(this.#positions.length * 2);
      bigger.set(this.#positions);
      this.#positions = bigger;
    }
    this.#positions[n] = this.#position;
  }

  /** A checkpoint line: well-formed, same origin, signed, then covering the records exactly. */
  async #checkpoint(text: string): Promise<TransparencyProblem | undefined> {
    const position = this.#position;
    if (this.#format === 'json-lines') {
      return {
        kind: 'inserted',
        position,
        message: `line ${position} is a checkpoint inside a plain event log`,
      };
    }
    this.#format = 'transparency-log';
    const cp = parseCheckpointLine(text, this.#maxProof);
    if (!cp) {
      return {
        kind: 'malformed',
        position,
        message: `checkpoint at line ${position} is malformed`,
      };
    }
    const c = cp.checkpoint;
    if (this.#origin === undefined) this.#origin = c.origin;
    else if (c.origin !== this.#origin) {
      return {
        kind: 'inserted',
        position,
        message: `checkpoint at line ${position} belongs to another log (origin differs)`,
      };
    }
    const problem = (await this.#signatureProblem(cp)) ?? this.#coverageProblem(cp);
    if (problem !== undefined) return problem;
    this.#checkpoints++;
    this.#checkpointRange = this.#range.clone();
    this.#pending = [];
    this.#sealedSize = this.#range.size;
    this.#sealedRoot = c.root;
    this.#sealedTime = c.time;
    return undefined;
  }

  /** With a verifier, the checkpoint must carry a signature that verifies. */
  async #signatureProblem(cp: CheckpointLine): Promise<TransparencyProblem | undefined> {
    const verifier = this.#verifier;
    if (!verifier) return undefined;
    let valid = false;
    if (cp.signature) {
      try {
        valid = await verifier.verify(
          checkpointSignedBody(cp.checkpoint),
          decodeBase64(cp.signature.sig, { maxBytes: 1024 }),
        );
      } catch {
        valid = false;
      }
    }
    if (valid) return undefined;
    const position = this.#position;
    return {
      kind: 'bad_signature',
      position,
      message: cp.signature
        ? `checkpoint at line ${position} has a signature that does not verify with the given key (modified, or signed by another key)`
        : `checkpoint at line ${position} is not signed`,
    };
  }

  /**
   * The checkpoint follows the previous one, covers exactly the records so far, chains to the
   * last one, has their root, and proves consistency with the previous checkpoint.
   */
  #coverageProblem(cp: CheckpointLine): TransparencyProblem | undefined {
    const c = cp.checkpoint;
    const position = this.#position;
    const previous = this.#checkpointRange;
    const n = this.#range.size;
    if (c.prev_size !== previous.size) return this.#misplacedCheckpoint(c);
    if (c.tree_size > n) {
      return {
        kind: 'deleted',
        position,
        seq: n,
        message: `records ${n}..${c.tree_size - 1} are missing before the checkpoint at line ${position}`,
      };
    }
    if (c.tree_size < n) {
      return {
        kind: 'inserted',
        position: this.#positions[c.tree_size]!,
        seq: c.tree_size,
        message: `records ${c.tree_size}..${n - 1} (from line ${this.#positions[c.tree_size]}) are not covered by the checkpoint at line ${position}`,
      };
    }
    if (cp.prev !== this.#lastLeaf) {
      return {
        kind: 'modified',
        position: this.#lastRecordPos,
        seq: n - 1,
        message: `record ${n - 1} at line ${this.#lastRecordPos} was modified (the checkpoint at line ${position} chains to other bytes)`,
      };
    }
    const root = this.#range.root();
    if (!bytesEqual(root, parseDigest(c.root))) {
      const first = previous.size < n ? this.#positions[previous.size]! : position;
      return {
        kind: 'modified',
        position: first,
        seq: previous.size,
        message: `records ${previous.size}..${n - 1} (lines ${first}..${this.#lastRecordPos}) do not match the checkpoint at line ${position}: a record or the checkpoint was modified and the chain rewritten`,
      };
    }
    const consistent = verifyConsistency(
      {
        oldSize: previous.size,
        newSize: n,
        oldRoot: previous.root(),
        newRoot: root,
        path: c.consistency.map((h) => fromHex(h)),
      },
      { maxPathLength: this.#maxProof },
    );
    if (consistent) return undefined;
    return {
      kind: 'inconsistent_checkpoint',
      position,
      message: `checkpoint at line ${position} has no valid consistency proof from tree size ${previous.size}`,
    };
  }

  /** The checkpoint does not follow the previous one: one was deleted, or they were reordered. */
  #misplacedCheckpoint(c: TransparencyCheckpoint): TransparencyProblem {
    const position = this.#position;
    const previousSize = this.#checkpointRange.size;
    if (c.prev_size > previousSize) {
      return {
        kind: 'deleted',
        // Where the missing checkpoint stood: right after record prev_size - 1.
        position:
          c.prev_size <= this.#range.size ? this.#positions[c.prev_size - 1]! + 1 : position,
        message: `the checkpoint for tree size ${c.prev_size} is missing (noticed at line ${position})`,
      };
    }
    return {
      kind: 'reordered',
      position,
      message: `checkpoint at line ${position} follows tree size ${c.prev_size}, but the previous checkpoint covers ${previousSize}`,
    };
  }

  /** Neither a record nor a checkpoint: a plain event log, or an inserted foreign line. */
  #otherLine(text: string): TransparencyProblem | undefined {
    const position = this.#position;
    if (this.#format === 'empty' || this.#format === 'json-lines') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (
        typeof parsed === 'object' &&
        parsed !== null &&
        'schema_version' in parsed &&
        'type' in parsed
      ) {
        this.#format = 'json-lines';
        this.#plainRecords++;
        return undefined;
      }
    }
    return (
      reserialised(text, position) ?? {
        kind: this.#format === 'transparency-log' ? 'inserted' : 'malformed',
        position,
        message: `line ${position} is neither a log record nor a checkpoint`,
      }
    );
  }

  /** A gap left open at the end: the record was deleted, or appeared later (reordered). */
  #gapProblem(): TransparencyProblem | undefined {
    const gap = this.#gap;
    if (!gap) return this.#problem;
    return gap.found > 0
      ? {
          kind: 'reordered',
          position: gap.position,
          seq: gap.seq,
          message: `record ${gap.seq} was expected at line ${gap.position} but appears at line ${gap.found}`,
        }
      : {
          kind: 'deleted',
          position: gap.position,
          seq: gap.seq,
          message: `record ${gap.seq} is missing before line ${gap.position}`,
        };
  }

  report(): TransparencyLogReport {
    const problem = this.#gapProblem();
    const ok = problem === undefined;
    const format = this.#format;
    const range = this.#range;
    const origin = this.#origin;
    const size = format === 'json-lines' ? this.#plainRecords : range.size;
    return {
      ok,
      format,
      ...(origin === undefined ? {} : { origin }),
      records: size,
      checkpoints: this.#checkpoints,
      signatures: this.#verifier ? 'verified' : 'unchecked',
      sealed_size: this.#sealedSize,
      ...(this.#sealedRoot === undefined ? {} : { sealed_root: this.#sealedRoot }),
      ...(this.#sealedTime === undefined ? {} : { sealed_time: this.#sealedTime }),
      unsealed_records: format === 'json-lines' ? size : range.size - this.#sealedSize,
      ...(this.#torn ? { torn_tail: this.#torn } : {}),
      ...(problem ? { problem } : {}),
      ...(ok && format !== 'json-lines' && origin !== undefined
        ? {
            state: {
              origin,
              range,
              lastLeaf: this.#lastLeaf,
              checkpointRange: this.#checkpointRange,
              pending: this.#pending,
            },
          }
        : {}),
    };
  }
}

/**
 * An inclusion proof for one event of a transparency log, as `plumbline audit prove` prints it.
 *
 * @public
 */
export interface AuditInclusionProof {
  /** The id (UUIDv7) of the event proven. */
  readonly event_id: string;
  /** The record's 0-based position among the log's records. */
  readonly leaf_index: number;
  /** The exact record line (the leaf input). */
  readonly record: string;
  /** The RFC 9162 leaf hash of `record`, as a digest string (`sha256:<hex>`). */
  readonly leaf_hash: string;
  /** The size of the tree the proof is for: the checkpoint's `tree_size`. */
  readonly tree_size: number;
  /** The tree's RFC 9162 root, as a digest string (`sha256:<hex>`); equals the checkpoint's `root`. */
  readonly root: string;
  /** The audit path, leaf to root, as digest strings. */
  readonly path: readonly string[];
  /** The checkpoint line (parsed) whose tree the proof is for. */
  readonly checkpoint: {
    readonly checkpoint: TransparencyCheckpoint;
    readonly signature?: CheckpointSignature;
  };
}

/**
 * Builds the inclusion proof of one event against the latest checkpoint that covers it. Reads the
 * whole log (keeping 32 bytes per record).
 *
 * @example
 * ```ts
 * const proof = await proveAuditEvent(createReadStream('audit.log'), eventId);
 * ```
 * @throws {@link PlumblineError} `PLB_AUDIT_EVENT_NOT_FOUND` when no record holds the event,
 * `PLB_AUDIT_EVENT_UNSEALED` when no checkpoint covers it yet, `PLB_AUDIT_LOG_LIMIT` for limits,
 * `PLB_AUDIT_CONFIG` for a limit that is not a positive integer.
 * @public
 */
export async function proveAuditEvent(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  eventId: string,
  options: Pick<TransparencyVerifyOptions, 'maxLineBytes' | 'maxRecords' | 'signal'> = {},
): Promise<AuditInclusionProof> {
  const { maxLineBytes: maxLine, maxRecords } = logLimits(options, 1e8);
  const leaves: Uint8Array[] = [];
  let found: { index: number; line: string } | undefined;
  let best: ParsedCheckpoint | undefined;
  const needle = `"id":"${eventId}"`;
  for await (const { bytes, complete } of readLines(source, maxLine, options.signal)) {
    if (!complete) break;
    const text = decode(bytes);
    if (text === undefined) continue;
    if (RECORD_RE.test(text)) {
      if (leaves.length >= maxRecords) {
        throw new PlumblineError(
          'PLB_AUDIT_LOG_LIMIT',
          `the log has more than ${maxRecords} records`,
          { details: { maxRecords } },
        );
      }
      if (found === undefined && text.includes(needle) && EVENT_ID_RE.exec(text)?.[1] === eventId) {
        found = { index: leaves.length, line: text };
      }
      leaves.push(leafHash(bytes));
    } else if (text.startsWith('{"checkpoint":')) {
      const cp = parseCheckpointLine(text, 64);
      if (
        cp &&
        found !== undefined &&
        cp.checkpoint.tree_size > found.index &&
        cp.checkpoint.tree_size <= leaves.length
      )
        best = cp;
    }
  }
  if (found === undefined) {
    throw new PlumblineError(
      'PLB_AUDIT_EVENT_NOT_FOUND',
      `no record in the log holds event ${eventId}`,
      { details: { event_id: eventId } },
    );
  }
  if (best === undefined) {
    throw new PlumblineError(
      'PLB_AUDIT_EVENT_UNSEALED',
      `event ${eventId} is not covered by a checkpoint yet`,
      {
        details: { event_id: eventId, leaf_index: found.index },
      },
    );
  }
  const size = best.checkpoint.tree_size;
  const tree = MerkleTree.fromLeafHashes(leaves.slice(0, size));
  return {
    event_id: eventId,
    leaf_index: found.index,
    record: found.line,
    leaf_hash: formatDigest(tree.leafHash(found.index)),
    tree_size: size,
    root: formatDigest(tree.root),
    path: tree.inclusionProof(found.index).map(formatDigest),
    checkpoint: {
      checkpoint: best.checkpoint,
      ...(best.signature ? { signature: best.signature } : {}),
    },
  };
}

/**
 * Checks an {@link AuditInclusionProof} on its own: the record hashes to the leaf, the path leads
 * to the checkpoint's root, and (with `verifier`) the checkpoint's signature is valid. Never throws.
 *
 * @example
 * ```ts
 * const ok = await verifyAuditInclusionProof(proof, { verifier });
 * ```
 * @public
 */
export async function verifyAuditInclusionProof(
  proof: AuditInclusionProof,
  options: { readonly verifier?: SignatureVerifier } = {},
): Promise<boolean> {
  try {
    const leaf = leafHash(utf8(proof.record));
    if (formatDigest(leaf) !== proof.leaf_hash) return false;
    const cp = proof.checkpoint.checkpoint;
    if (cp.root !== proof.root || cp.tree_size !== proof.tree_size) return false;
    if (EVENT_ID_RE.exec(proof.record)?.[1] !== proof.event_id) return false;
    const included = verifyInclusion({
      leafHash: leaf,
      index: proof.leaf_index,
      treeSize: proof.tree_size,
      path: proof.path.map(parseDigest),
      root: parseDigest(proof.root),
    });
    if (!included) return false;
    if (options.verifier) {
      const sig = proof.checkpoint.signature;
      if (!sig) return false;
      return await options.verifier.verify(
        checkpointSignedBody(cp),
        decodeBase64(sig.sig, { maxBytes: 1024 }),
      );
    }
    return true;
  } catch {
    return false;
  }
}
