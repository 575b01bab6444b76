import { PlumblineError } from '../errors.js';
import { fromHex, toHex } from '../encoding/hex.js';
import { utf8 } from '../encoding/utf8.js';
import { formatDigest } from '../hash/digest.js';
import { encodeBase64 } from '../encoding/base64.js';
import type { Signer } from '../signer/types.js';
import { CompactRange, consistencyProofFromRange } from './compact-range.js';
import { uuidv7 } from './uuid.js';

/**
 * The `prev` of the first record: 32 zero bytes in hex.
 *
 * @public
 */
export const TLOG_GENESIS_PREV = '0'.repeat(64);

/**
 * A checkpoint of the transparency log: the signed tree head.
 *
 * @public
 */
export interface TransparencyCheckpoint {
  /** Identifies the log (`plumbline-audit/<uuid>` by default); the same on every checkpoint. */
  readonly origin: string;
  /** Number of records (leaves) covered. */
  readonly tree_size: number;
  /** RFC 9162 root over those records, as a digest string. */
  readonly root: string;
  /** RFC 3339 UTC time the checkpoint was made. */
  readonly time: string;
  /** Tree size of the previous checkpoint (0 for the first). */
  readonly prev_size: number;
  /** RFC 9162 consistency proof from `prev_size` to `tree_size`, as hex hashes. */
  readonly consistency: readonly string[];
}

/**
 * The signature over a checkpoint's signed body ({@link checkpointSignedBody}).
 *
 * @public
 */
export interface CheckpointSignature {
  /** `ed25519` or `ecdsa-p256-sha256` (DER). */
  readonly alg: string;
  /** The signing key's id (the signer's `keyId`), when the signer has one. */
  readonly key_id?: string;
  /** Base64 signature bytes. */
  readonly sig: string;
}

/**
 * The bytes a checkpoint signature covers, in the C2SP `tlog-checkpoint` note layout: origin,
 * tree size, base64 root, then the extension line `time <RFC 3339>`, each ending in a newline.
 *
 * @example
 * ```ts
 * checkpointSignedBody({ origin: 'plumbline-audit/x', tree_size: 0, root: 'sha256:e3b0…', time: '2026-01-01T00:00:00.000Z' });
 * ```
 * @throws {@link PlumblineError} `PLB_INVALID_DIGEST` when `root` is not a digest string.
 * @public
 */
export function checkpointSignedBody(
  checkpoint: Pick<TransparencyCheckpoint, 'origin' | 'tree_size' | 'root' | 'time'>,
): Uint8Array {
  const root = checkpoint.root.startsWith('sha256:')
    ? fromHex(checkpoint.root.slice(7))
    : new Uint8Array(0);
  if (root.length !== 32)
    throw new PlumblineError('PLB_INVALID_DIGEST', 'a checkpoint root is a sha256 digest string');
  return utf8(
    `${checkpoint.origin}\n${checkpoint.tree_size}\n${encodeBase64(root, { portable: true })}\ntime ${checkpoint.time}\n`,
  );
}

/**
 * The state a transparency-log writer resumes from (what {@link verifyTransparencyLog} returns as
 * `state` for a log that verified).
 *
 * @public
 */
export interface TransparencyLogState {
  /** The log's origin line, the same on every checkpoint (`plumbline-audit/<uuid>` by default). */
  readonly origin: string;
  /** Compact Merkle range over every record so far. @internal */
  readonly range: CompactRange;
  /** Hex leaf hash of the last record ({@link TLOG_GENESIS_PREV} when empty). */
  readonly lastLeaf: string;
  /** Compact Merkle range over the records the last checkpoint covers. @internal */
  readonly checkpointRange: CompactRange;
  /** Leaf hashes since the last checkpoint. @internal */
  readonly pending: readonly Uint8Array[];
}

/**
 * Builds transparency-log lines in memory: each event becomes one record line (an RFC 9162 leaf),
 * and {@link TransparencyLogAppender.checkpoint} produces a (signed) checkpoint line. The Node
 * writer in `@plumbline/core/node` puts the lines in a file; anything else can put them elsewhere.
 *
 * Record line: `{"seq":<n>,"prev":"<hex leaf hash of record n-1>","event":<event JSON>}`; its exact
 * UTF-8 bytes (without the newline) are the leaf input. Checkpoint line:
 * `{"checkpoint":{…},"prev":"<hex>","signature":{…}}` (not a leaf).
 *
 * @example
 * ```ts
 * import { TransparencyLogAppender } from '@plumbline/core/audit';
 * const log = TransparencyLogAppender.create();
 * const lines = [await log.checkpoint({ signer }), log.append(record.json), await log.checkpoint({ signer })];
 * ```
 * @public
 */
export class TransparencyLogAppender {
  /** The log's origin line, written into every checkpoint (`plumbline-audit/<uuid>` by default). */
  readonly origin: string;
  #range: CompactRange;
  #lastLeaf: string;
  #checkpointRange: CompactRange;
  #pending: Uint8Array[];

  private constructor(state: TransparencyLogState) {
    this.origin = state.origin;
    this.#range = state.range.clone();
    this.#lastLeaf = state.lastLeaf;
    this.#checkpointRange = state.checkpointRange.clone();
    this.#pending = [...state.pending];
  }

  /**
   * Starts a new, empty log.
   *
   * @throws {@link PlumblineError} `PLB_AUDIT_CONFIG` for an origin with a newline or over 256 characters.
   */
  static create(options: { readonly origin?: string } = {}): TransparencyLogAppender {
    const origin = options.origin ?? `plumbline-audit/${uuidv7()}`;
    if (origin.length === 0 || origin.length > 256 || /[\r\n]/.test(origin)) {
      throw new PlumblineError(
        'PLB_AUDIT_CONFIG',
        'a log origin is 1 to 256 characters without line breaks',
      );
    }
    return new TransparencyLogAppender({
      origin,
      range: new CompactRange(),
      lastLeaf: TLOG_GENESIS_PREV,
      checkpointRange: new CompactRange(),
      pending: [],
    });
  }

  /** Continues a log from the state its verification produced. */
  static resume(state: TransparencyLogState): TransparencyLogAppender {
    return new TransparencyLogAppender(state);
  }

  /** A copy of the state, to resume from (see {@link TransparencyLogAppender.resume}). */
  state(): TransparencyLogState {
    return {
      origin: this.origin,
      range: this.#range.clone(),
      lastLeaf: this.#lastLeaf,
      checkpointRange: this.#checkpointRange.clone(),
      pending: [...this.#pending],
    };
  }

  /** Records so far. */
  get size(): number {
    return this.#range.size;
  }

  /** Records since the last checkpoint. */
  get unsealed(): number {
    return this.#pending.length;
  }

  /** The current RFC 9162 root. */
  root(): Uint8Array {
    return this.#range.root();
  }

  /** Appends one event (its JSON serialization) and returns the record line (no newline). */
  append(eventJson: string): string {
    const line = `{"seq":${this.#range.size},"prev":"${this.#lastLeaf}","event":${eventJson}}`;
    const h = this.#range.appendInput(utf8(line));
    this.#lastLeaf = toHex(h);
    this.#pending.push(h);
    return line;
  }

  /**
   * Makes a checkpoint line (no newline) over every record so far, signed when a signer is given.
   * The appender moves on only after signing succeeded.
   */
  async checkpoint(
    options: { readonly signer?: Signer; readonly time?: Date } = {},
  ): Promise<string> {
    const checkpoint: TransparencyCheckpoint = {
      origin: this.origin,
      tree_size: this.#range.size,
      root: formatDigest(this.#range.root()),
      time: (options.time ?? new Date()).toISOString(),
      prev_size: this.#checkpointRange.size,
      consistency: consistencyProofFromRange(this.#checkpointRange, this.#pending).map(toHex),
    };
    let signature: CheckpointSignature | undefined;
    if (options.signer) {
      const sig = await options.signer.sign(checkpointSignedBody(checkpoint));
      signature = {
        alg: options.signer.algorithm,
        ...(options.signer.keyId ? { key_id: options.signer.keyId } : {}),
        sig: encodeBase64(sig, { portable: true }),
      };
    }
    this.#checkpointRange = this.#range.clone();
    this.#pending = [];
    return JSON.stringify({
      checkpoint,
      prev: this.#lastLeaf,
      ...(signature ? { signature } : {}),
    });
  }
}
