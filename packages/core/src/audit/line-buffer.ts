const encoder = new TextEncoder();

/** Lines are encoded into slabs of this many bytes (a longer line gets a slab of its own). */
const SLAB_BYTES = 64 * 1024;
/** Written slabs kept for reuse: at most this many bytes per buffer stay allocated when idle. */
const POOL_SLABS = 32;

interface Slab {
  readonly bytes: Uint8Array;
  /** Parts of this slab handed out in batches and not yet released. */
  refs: number;
}

/**
 * One batch of encoded lines: `count` JSON lines, each ending in `\n`, in `parts` (split at line
 * boundaries). Valid until {@link LineBuffer.release}; the memory is reused afterwards.
 *
 * @internal
 */
export interface LineBatch {
  readonly parts: readonly Uint8Array[];
  readonly count: number;
  readonly slabs: readonly Slab[];
}

/**
 * A FIFO of JSON lines kept as UTF-8 bytes in pooled slabs outside the JS heap, cut into batches
 * of at most `maxBatch` lines. A best-effort queue holds its backlog here instead of as records:
 * a burst of queued records survives garbage collections and is copied by every one of them,
 * while the bytes of a slab are never moved, and a slab whose batches were released is reused
 * instead of allocated (and faulted in) again.
 *
 * @internal
 */
export class LineBuffer {
  readonly #maxBatch: number;
  readonly #slabBytes: number;
  readonly #pool: Slab[] = [];
  /** Closed batches, oldest first, from `#head`. */
  #batches: LineBatch[] = [];
  #head = 0;
  #slab: Slab;
  /** Where the open batch's part in the current slab starts, and where the next line goes. */
  #partStart = 0;
  #at = 0;
  /** The open batch: its parts in earlier slabs and its line count. */
  #parts: Uint8Array[] = [];
  #slabs: Slab[] = [];
  #open = 0;
  #count = 0;

  constructor(maxBatch: number, slabBytes: number = SLAB_BYTES) {
    this.#maxBatch = maxBatch;
    this.#slabBytes = slabBytes;
    this.#slab = { bytes: new Uint8Array(0), refs: 0 };
  }

  /** Lines held (not yet shifted out). */
  get count(): number {
    return this.#count;
  }

  /** Slabs kept for reuse (for tests). */
  get pooled(): number {
    return this.#pool.length;
  }

  /** Appends `json` followed by `\n`. */
  push(json: string): void {
    if (this.#open >= this.#maxBatch) this.#close();
    const bytes = this.#slab.bytes;
    const room = bytes.length - this.#at;
    // Three UTF-8 bytes per UTF-16 unit at most: the common case needs no second try.
    if (json.length * 3 < room) {
      this.#at += encoder.encodeInto(json, bytes.subarray(this.#at)).written;
    } else {
      let written = -1;
      if (json.length < room) {
        const r = encoder.encodeInto(json, bytes.subarray(this.#at, bytes.length - 1));
        if (r.read === json.length) written = r.written;
      }
      if (written < 0) {
        this.#nextSlab(json.length * 3 + 1);
        written = encoder.encodeInto(json, this.#slab.bytes).written;
      }
      this.#at += written;
    }
    this.#slab.bytes[this.#at++] = 0x0a;
    this.#open++;
    this.#count++;
  }

  /** Removes and returns the oldest batch, or `undefined` when empty. Release it once written. */
  shift(): LineBatch | undefined {
    if (this.#head === this.#batches.length) {
      if (this.#open === 0) return undefined;
      this.#close();
    }
    const batch = this.#batches[this.#head]!;
    this.#head++;
    if (this.#head === this.#batches.length) {
      this.#batches = [];
      this.#head = 0;
    }
    this.#count -= batch.count;
    return batch;
  }

  /** Gives a shifted batch's memory back for reuse: nothing may read `batch.parts` afterwards. */
  release(batch: LineBatch): void {
    for (const slab of batch.slabs) {
      slab.refs--;
      if (slab.refs === 0 && slab !== this.#slab) this.#recycle(slab);
    }
  }

  /** Ends the open batch's part in the current slab. */
  #endPart(): void {
    if (this.#at === this.#partStart) return;
    this.#parts.push(this.#slab.bytes.subarray(this.#partStart, this.#at));
    this.#slabs.push(this.#slab);
    this.#slab.refs++;
    this.#partStart = this.#at;
  }

  /** Ends the open batch; later lines start a new one in the same slab. */
  #close(): void {
    if (this.#open === 0) return;
    this.#endPart();
    this.#batches.push({ parts: this.#parts, count: this.#open, slabs: this.#slabs });
    this.#parts = [];
    this.#slabs = [];
    this.#open = 0;
  }

  /** Moves to a fresh slab with room for `need` bytes. */
  #nextSlab(need: number): void {
    this.#endPart();
    const full = this.#slab;
    if (need <= this.#slabBytes) {
      this.#slab = this.#pool.pop() ?? { bytes: new Uint8Array(this.#slabBytes), refs: 0 };
    } else {
      this.#slab = { bytes: new Uint8Array(need), refs: 0 };
    }
    if (full.refs === 0) this.#recycle(full);
    this.#partStart = 0;
    this.#at = 0;
  }

  #recycle(slab: Slab): void {
    if (slab.bytes.length === this.#slabBytes && this.#pool.length < POOL_SLABS) {
      this.#pool.push(slab);
    }
  }
}
