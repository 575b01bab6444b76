import { PlumblineError } from '../errors.js';
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
 * @throws {@link PlumblineError} `PLB_AUDIT_LOG_LIMIT` for a line or record count over a limit.
 * @public
 */
export async function verifyTransparencyLog(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: TransparencyVerifyOptions = {},
): Promise<TransparencyLogReport> {
  const maxLine = options.maxLineBytes ?? 1024 * 1024;
  const maxRecords = options.maxRecords ?? 1e9;
  const maxProof = options.maxProofLength ?? 64;
  const verifier = options.verifier;
  const range = new CompactRange();
  let checkpointRange = new CompactRange();
  let pending: Uint8Array[] = [];
  let lastLeaf = TLOG_GENESIS_PREV;
  let lastRecordPos = 0;
  let origin: string | undefined;
  let position = 0;
  let checkpoints = 0;
  let sealedSize = 0;
  let sealedRoot: string | undefined;
  let sealedTime: string | undefined;
  let format: TransparencyLogReport['format'] = 'empty';
  let plainRecords = 0;
  let torn: { position: number; bytes: number } | undefined;
  let problem: TransparencyProblem | undefined;
  // Positions of records by seq, to name duplicates.
  let positions = new Float64Array(1024);
  // After a gap: the seq whose later appearance means "reordered" rather than "deleted".
  let gap: { seq: number; position: number; found: number } | undefined;

  const finish = (): TransparencyLogReport => {
    if (gap) {
      problem =
        gap.found > 0
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
    const ok = problem === undefined;
    const size = format === 'json-lines' ? plainRecords : range.size;
    return {
      ok,
      format,
      ...(origin === undefined ? {} : { origin }),
      records: size,
      checkpoints,
      signatures: verifier ? 'verified' : 'unchecked',
      sealed_size: sealedSize,
      ...(sealedRoot === undefined ? {} : { sealed_root: sealedRoot }),
      ...(sealedTime === undefined ? {} : { sealed_time: sealedTime }),
      unsealed_records: format === 'json-lines' ? size : range.size - sealedSize,
      ...(torn ? { torn_tail: torn } : {}),
      ...(problem ? { problem } : {}),
      ...(ok && format !== 'json-lines' && origin !== undefined
        ? { state: { origin, range, lastLeaf, checkpointRange, pending } }
        : {}),
    };
  };

  for await (const { bytes, complete } of readLines(source, maxLine, options.signal)) {
    position++;
    if (!complete) {
      torn = { position, bytes: bytes.length };
      break;
    }
    const text = decode(bytes);
    if (gap) {
      // Only look for the missing record now.
      const m = text === undefined ? null : RECORD_RE.exec(text);
      if (m && Number(m[1]) === gap.seq) {
        gap.found = position;
        break;
      }
      continue;
    }
    if (text === undefined) {
      problem = { kind: 'malformed', position, message: `line ${position} is not valid UTF-8` };
      break;
    }
    const rec = RECORD_RE.exec(text);
    if (rec) {
      if (format === 'json-lines') {
        problem = {
          kind: 'inserted',
          position,
          message: `line ${position} is a log record inside a plain event log`,
        };
        break;
      }
      if (format === 'empty') format = 'transparency-log';
      const seq = Number(rec[1]);
      const n = range.size;
      if (!text.endsWith('}')) {
        problem = {
          kind: 'truncated',
          position,
          seq,
          message: `record ${seq} at line ${position} was cut short (not a complete JSON object)`,
        };
        break;
      }
      if (seq > n) {
        gap = { seq: n, position, found: 0 };
        continue;
      }
      if (seq < n) {
        problem = {
          kind: 'inserted',
          position,
          seq,
          ...eventIdOf(text),
          message: `record ${seq} at line ${position} repeats the record at line ${positions[seq]}: one of them was inserted`,
        };
        break;
      }
      if (rec[2] !== lastLeaf) {
        problem =
          n === 0
            ? {
                kind: 'modified',
                position,
                seq,
                message: `the first record (line ${position}) does not start the chain`,
              }
            : {
                kind: 'modified',
                position: lastRecordPos,
                seq: n - 1,
                message: `record ${n - 1} at line ${lastRecordPos} was modified (record ${n} at line ${position} chains to other bytes)`,
              };
        break;
      }
      if (n >= maxRecords) {
        throw new PlumblineError(
          'PLB_AUDIT_LOG_LIMIT',
          `the log has more than ${maxRecords} records`,
          {
            details: { maxRecords },
          },
        );
      }
      const h = range.appendInput(bytes);
      pending.push(h);
      lastLeaf = toHex(h);
      lastRecordPos = position;
      if (n >= positions.length) {
        const bigger = new Float64Array(positions.length * 2);
        bigger.set(positions);
        positions = bigger;
      }
      positions[n] = position;
      continue;
    }
    if (text.startsWith('{"checkpoint":')) {
      if (format === 'json-lines') {
        problem = {
          kind: 'inserted',
          position,
          message: `line ${position} is a checkpoint inside a plain event log`,
        };
        break;
      }
      format = 'transparency-log';
      const cp = parseCheckpointLine(text, maxProof);
      if (!cp) {
        problem = {
          kind: 'malformed',
          position,
          message: `checkpoint at line ${position} is malformed`,
        };
        break;
      }
      const c = cp.checkpoint;
      if (origin === undefined) origin = c.origin;
      else if (c.origin !== origin) {
        problem = {
          kind: 'inserted',
          position,
          message: `checkpoint at line ${position} belongs to another log (origin differs)`,
        };
        break;
      }
      if (verifier) {
        let valid = false;
        if (cp.signature) {
          try {
            valid = await verifier.verify(
              checkpointSignedBody(c),
              decodeBase64(cp.signature.sig, { maxBytes: 1024 }),
            );
          } catch {
            valid = false;
          }
        }
        if (!valid) {
          problem = {
            kind: 'bad_signature',
            position,
            message: cp.signature
              ? `checkpoint at line ${position} has a signature that does not verify with the given key (modified, or signed by another key)`
              : `checkpoint at line ${position} is not signed`,
          };
          break;
        }
      }
      if (c.prev_size !== checkpointRange.size) {
        problem =
          c.prev_size > checkpointRange.size
            ? {
                kind: 'deleted',
                // Where the missing checkpoint stood: right after record prev_size - 1.
                position: c.prev_size <= range.size ? positions[c.prev_size - 1]! + 1 : position,
                message: `the checkpoint for tree size ${c.prev_size} is missing (noticed at line ${position})`,
              }
            : {
                kind: 'reordered',
                position,
                message: `checkpoint at line ${position} follows tree size ${c.prev_size}, but the previous checkpoint covers ${checkpointRange.size}`,
              };
        break;
      }
      const n = range.size;
      if (c.tree_size > n) {
        problem = {
          kind: 'deleted',
          position,
          seq: n,
          message: `records ${n}..${c.tree_size - 1} are missing before the checkpoint at line ${position}`,
        };
        break;
      }
      if (c.tree_size < n) {
        problem = {
          kind: 'inserted',
          position: positions[c.tree_size]!,
          seq: c.tree_size,
          message: `records ${c.tree_size}..${n - 1} (from line ${positions[c.tree_size]}) are not covered by the checkpoint at line ${position}`,
        };
        break;
      }
      if (cp.prev !== lastLeaf) {
        problem = {
          kind: 'modified',
          position: lastRecordPos,
          seq: n - 1,
          message: `record ${n - 1} at line ${lastRecordPos} was modified (the checkpoint at line ${position} chains to other bytes)`,
        };
        break;
      }
      const root = range.root();
      if (!bytesEqual(root, parseDigest(c.root))) {
        const first = checkpointRange.size < n ? positions[checkpointRange.size]! : position;
        problem = {
          kind: 'modified',
          position: first,
          seq: checkpointRange.size,
          message: `records ${checkpointRange.size}..${n - 1} (lines ${first}..${lastRecordPos}) do not match the checkpoint at line ${position}: a record or the checkpoint was modified and the chain rewritten`,
        };
        break;
      }
      const consistent = verifyConsistency(
        {
          oldSize: checkpointRange.size,
          newSize: n,
          oldRoot: checkpointRange.root(),
          newRoot: root,
          path: c.consistency.map((h) => fromHex(h)),
        },
        { maxPathLength: maxProof },
      );
      if (!consistent) {
        problem = {
          kind: 'inconsistent_checkpoint',
          position,
          message: `checkpoint at line ${position} has no valid consistency proof from tree size ${checkpointRange.size}`,
        };
        break;
      }
      checkpoints++;
      checkpointRange = range.clone();
      pending = [];
      sealedSize = n;
      sealedRoot = c.root;
      sealedTime = c.time;
      continue;
    }
    // Neither a record nor a checkpoint: a plain event log, or an inserted foreign line.
    if (format === 'empty' || format === 'json-lines') {
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
        format = 'json-lines';
        plainRecords++;
        continue;
      }
    }
    problem = reserialised(text, position) ?? {
      kind: format === 'transparency-log' ? 'inserted' : 'malformed',
      position,
      message: `line ${position} is neither a log record nor a checkpoint`,
    };
    break;
  }
  return finish();
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
 * `PLB_AUDIT_EVENT_UNSEALED` when no checkpoint covers it yet, `PLB_AUDIT_LOG_LIMIT` for limits.
 * @public
 */
export async function proveAuditEvent(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  eventId: string,
  options: Pick<TransparencyVerifyOptions, 'maxLineBytes' | 'maxRecords' | 'signal'> = {},
): Promise<AuditInclusionProof> {
  const maxLine = options.maxLineBytes ?? 1024 * 1024;
  const maxRecords = options.maxRecords ?? 1e8;
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
