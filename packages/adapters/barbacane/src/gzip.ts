/**
 * One gzip member (RFC 1952), decoded the way Barbacane reads a `.bca`: flate2's `GzDecoder`
 * (barbacane-compiler `src/artifact.rs`, v0.8.1) decodes the first member only, so a file is read
 * here as exactly one member and refused when anything follows it (another member, even an empty
 * one, or other bytes).
 *
 * @internal
 * @packageDocumentation
 */
import { PlumblineError } from '@plumbline/core';
import { crc32, createInflateRaw, type InflateRaw } from 'node:zlib';

/** Largest gzip header accepted (its optional extra field, name and comment included). */
const MAX_HEADER_BYTES = 1024 * 1024;

const corrupt = (file: string, why: string): PlumblineError =>
  new PlumblineError('PLB_BCA_CORRUPT', `${file} is not a readable gzip member: ${why}`);

/** The end of a zero-terminated field from `at`, or -1 while it is incomplete. */
function afterZero(buf: Buffer, at: number): number {
  const zero = buf.indexOf(0, at);
  return zero < 0 ? -1 : zero + 1;
}

/**
 * The length of the gzip header at the start of `buf`, or -1 while it is incomplete.
 *
 * @throws `PLB_BCA_CORRUPT` for a header that is not gzip's (magic, method, reserved flags).
 */
function headerLength(buf: Buffer, file: string): number {
  if (buf.length < 10) return -1;
  if (buf[0] !== 0x1f || buf[1] !== 0x8b || buf[2] !== 8) throw corrupt(file, 'no gzip header');
  const flags = buf[3] as number;
  if ((flags & 0xe0) !== 0) throw corrupt(file, 'reserved gzip header flags are set');
  let at = 10;
  if ((flags & 4) !== 0) {
    if (buf.length < at + 2) return -1;
    at += 2 + buf.readUInt16LE(at);
    if (buf.length < at) return -1;
  }
  for (const bit of [8, 16]) {
    if ((flags & bit) === 0) continue;
    at = afterZero(buf, at);
    if (at < 0) return -1;
  }
  if ((flags & 2) !== 0) at += 2;
  return buf.length < at ? -1 : at;
}

/**
 * Decodes the one gzip member of a file of `size` bytes: write the file's bytes in order, read the
 * inflated bytes from {@link OneGzipMember.inflate}, and call {@link OneGzipMember.check} once the
 * inflater and the file have both ended.
 *
 * @internal
 */
export class OneGzipMember {
  readonly inflate: InflateRaw;
  readonly #file: string;
  readonly #size: number;
  #pending: Buffer | null = Buffer.alloc(0);
  #headerBytes = 0;
  #crc = 0;
  #inflated = 0;
  /** The file's last 8 bytes: the member's CRC-32 and ISIZE when nothing follows it. */
  #tail = Buffer.alloc(0);

  constructor(file: string, size: number, chunkSize: number) {
    this.#file = file;
    this.#size = size;
    this.inflate = createInflateRaw({ chunkSize });
    this.inflate.on('data', (chunk: Buffer) => {
      this.#crc = crc32(chunk, this.#crc);
      this.#inflated += chunk.length;
    });
  }

  /** Takes the file's next bytes; returns `false` when the inflater asks to wait for `drain`. */
  write(chunk: Buffer): boolean {
    this.#tail = Buffer.concat([this.#tail, chunk]).subarray(-8);
    if (this.#pending === null) return this.#feed(chunk);
    const pending = Buffer.concat([this.#pending, chunk]);
    const length = headerLength(pending, this.#file);
    if (length < 0) {
      if (pending.length > MAX_HEADER_BYTES) throw corrupt(this.#file, 'its header is too large');
      this.#pending = pending;
      return true;
    }
    this.#pending = null;
    this.#headerBytes = length;
    return this.#feed(pending.subarray(length));
  }

  #feed(bytes: Buffer): boolean {
    // Bytes after the member's end are not inflated; check() refuses them.
    if (this.inflate.writableEnded || bytes.length === 0) return true;
    return this.inflate.write(bytes);
  }

  /** The file has ended: so has the member's input. */
  end(): void {
    if (this.#pending !== null) throw corrupt(this.#file, 'its header is truncated');
    if (!this.inflate.writableEnded) this.inflate.end();
  }

  /**
   * Checks, once the inflater and the file have ended, that the member's trailer follows its
   * compressed data and ends the file, and that it matches what was inflated.
   *
   * @throws `PLB_BCA_CORRUPT` when more follows the member, or its trailer does not match.
   */
  check(): void {
    const consumed = this.#headerBytes + this.inflate.bytesWritten;
    if (consumed + 8 < this.#size) {
      throw new PlumblineError(
        'PLB_BCA_CORRUPT',
        `${this.#file} holds more than one gzip member or bytes after it; Barbacane reads only the first`,
        { details: { member_bytes: consumed + 8, file_bytes: this.#size } },
      );
    }
    if (consumed + 8 > this.#size || this.#tail.length !== 8) {
      throw corrupt(this.#file, 'its trailer is truncated');
    }
    if (this.#tail.readUInt32LE(0) !== this.#crc >>> 0) {
      throw corrupt(this.#file, 'its CRC-32 does not match');
    }
    if (this.#tail.readUInt32LE(4) !== this.#inflated % 2 ** 32) {
      throw corrupt(this.#file, 'its size does not match');
    }
  }
}
