/**
 * A strict, incremental reader of the tar streams Barbacane's compiler writes.
 *
 * Barbacane writes every member with `tar::Header::new_gnu()` and `Builder::append_data`
 * (barbacane-compiler `src/artifact.rs`, `add_file_to_tar`, every tag from v0.1.0 to v0.8.1 and
 * main): a regular file (type byte NUL), preceded by a GNU long-name entry (type `L`) when its
 * path does not fit the 100-byte name field, and `Builder::finish` ends the stream with two zero
 * blocks. The `tar` crate Barbacane reads with yields every other entry type too (a sparse `S`
 * file's data, a `V` volume header, …) and its loaders read any entry by path whatever its type,
 * so this reader accepts regular files (type NUL or `0`) and `L` only, and refuses everything
 * else instead of skipping it.
 *
 * @packageDocumentation
 */
import { PlumblineError } from '@plumbline/core';
import { createHash, type Hash } from 'node:crypto';

/** One member header as read: its path (raw, before checks) and size. @internal */
export interface TarMemberHeader {
  readonly path: string;
  readonly size: number;
}

/** What the reader calls as it walks the stream. @internal */
export interface TarWalkSink {
  /** A member header; returns the buffer its `size` bytes are written into. */
  member(header: TarMemberHeader): Uint8Array;
  /** The member's bytes are complete. */
  memberEnd(): void;
}

const BLOCK = 512;
/** Largest GNU long name accepted (a path of at most 4096 bytes and its NUL). */
const MAX_LONG_NAME = 4097;
const FILE_TYPES = new Set([0, 0x30]); // NUL (what Barbacane writes) and '0'
const LONG_NAME = 0x4c; // 'L'
const LINK_TYPES = new Set([0x31, 0x32]); // '1' hard link, '2' symbolic link

function corrupt(message: string): PlumblineError {
  return new PlumblineError('PLB_BCA_CORRUPT', message);
}

/** A NUL-terminated field, as the `tar` crate's `truncate` reads it. */
function field(block: Uint8Array, offset: number, length: number): Uint8Array {
  const bytes = block.subarray(offset, offset + length);
  const nul = bytes.indexOf(0);
  return nul === -1 ? bytes : bytes.subarray(0, nul);
}

/** A numeric field: octal digits padded with NUL or spaces, or GNU base-256. */
function numeric(block: Uint8Array, offset: number, length: number, what: string): number {
  const bytes = block.subarray(offset, offset + length);
  if ((bytes[0] ?? 0) & 0x80) {
    if (bytes[0] !== 0x80) throw corrupt(`a tar header has a negative or huge ${what}`);
    let value = 0;
    for (const byte of bytes.subarray(1)) value = value * 256 + byte;
    if (!Number.isSafeInteger(value)) throw corrupt(`a tar header's ${what} is too large`);
    return value;
  }
  const text = Buffer.from(bytes)
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (!/^[0-7]*$/.test(text)) throw corrupt(`a tar header's ${what} is not an octal number`);
  return text === '' ? 0 : parseInt(text, 8);
}

function checksumValid(block: Uint8Array): boolean {
  let unsigned = 0;
  for (let i = 0; i < BLOCK; i += 1) unsigned += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
  return numeric(block, 148, 8, 'checksum') === unsigned;
}

/**
 * The member path as the `tar` crate reads it: the POSIX `prefix/name` for a `ustar\0` `00`
 * header, the name field alone for GNU (`ustar ` ` \0`) and old headers.
 */
function headerPath(block: Uint8Array): string {
  const name = field(block, 0, 100);
  const ustar = Buffer.from(block.subarray(257, 265)).toString('latin1') === 'ustar\u000000';
  const prefix = ustar ? field(block, 345, 155) : new Uint8Array(0);
  const path = prefix.length > 0 ? Buffer.concat([prefix, Buffer.from('/'), name]) : name;
  return new TextDecoder('utf-8', { fatal: false }).decode(path);
}

function typeName(type: number): string {
  return type >= 0x20 && type < 0x7f ? String.fromCharCode(type) : `0x${type.toString(16)}`;
}

/**
 * Walks a tar stream chunk by chunk: checks every header's checksum and type, hands each regular
 * file to the sink, requires the two zero blocks that end the archive and only zeros after them.
 *
 * @internal
 */
export class TarWalker {
  private readonly sink: TarWalkSink;
  private pending = Buffer.alloc(0);
  private state: 'header' | 'body' | 'long-name' | 'zero' | 'done' = 'header';
  private target: Uint8Array = new Uint8Array(0);
  private filled = 0;
  private padding = 0;
  private longName: string | null = null;
  private longNameSize = 0;
  private longNameLength = 0;

  /** The member whose preceding bytes are hashed, when asked for. */
  private readonly digestBefore: string | null;
  private readonly hash: Hash | null;
  private consumed = 0;
  private memberStart: { hash: Hash; size: number } | null = null;
  /** SHA-256 and length of the tar stream before the last member named `digestBefore`. */
  prefix: { digest: string; size: number } | null = null;

  constructor(sink: TarWalkSink, options: { digestBefore?: string } = {}) {
    this.sink = sink;
    this.digestBefore = options.digestBefore ?? null;
    this.hash = this.digestBefore === null ? null : createHash('sha256');
  }

  private consume(bytes: Uint8Array): void {
    this.hash?.update(bytes);
    this.consumed += bytes.length;
  }

  /** Feeds the next inflated bytes. @throws PlumblineError */
  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.state === 'body' && this.filled < this.target.length) {
        const take = Math.min(this.target.length - this.filled, chunk.length - offset);
        this.target.set(chunk.subarray(offset, offset + take), this.filled);
        this.consume(chunk.subarray(offset, offset + take));
        this.filled += take;
        offset += take;
        continue;
      }
      if (this.state === 'body' && this.padding > 0) {
        const take = Math.min(this.padding, chunk.length - offset);
        this.consume(chunk.subarray(offset, offset + take));
        this.padding -= take;
        offset += take;
        continue;
      }
      if (this.state === 'body') {
        this.state = 'header';
        this.sink.memberEnd();
        continue;
      }
      if (this.state === 'done') {
        for (let i = offset; i < chunk.length; i += 1) {
          if (chunk[i] !== 0) throw corrupt('the archive has data after its end-of-archive marker');
        }
        return;
      }
      const need = this.state === 'long-name' ? this.longNameSize : BLOCK;
      const take = Math.min(need - this.pending.length, chunk.length - offset);
      this.pending = Buffer.concat([this.pending, chunk.subarray(offset, offset + take)]);
      offset += take;
      if (this.pending.length === need) {
        const block = this.pending;
        this.pending = Buffer.alloc(0);
        this.onBlock(block);
      }
    }
    if (this.state === 'body' && this.filled === this.target.length && this.padding === 0) {
      this.state = 'header';
      this.sink.memberEnd();
    }
  }

  /** The stream ended. @throws PlumblineError `PLB_BCA_TRUNCATED` before the end marker. */
  end(): void {
    if (this.state === 'done') return;
    if (this.state === 'body' || this.state === 'long-name' || this.pending.length > 0) {
      throw new PlumblineError('PLB_BCA_TRUNCATED', 'the archive ends inside a member');
    }
    throw new PlumblineError(
      'PLB_BCA_TRUNCATED',
      'the archive ends without its end-of-archive marker (two zero blocks)',
    );
  }

  private onBlock(block: Buffer): void {
    if (this.hash !== null && this.state === 'header' && this.longName === null) {
      // A member starts here (at its GNU long name when it has one).
      this.memberStart = { hash: this.hash.copy(), size: this.consumed };
    }
    this.consume(block);
    if (this.state === 'long-name') {
      // The name and its NUL, padded to a block; the tar crate drops one trailing NUL.
      const data = block.subarray(0, this.longNameLength);
      const raw = data[data.length - 1] === 0 ? data.subarray(0, -1) : data;
      this.longName = new TextDecoder('utf-8', { fatal: false }).decode(raw);
      this.state = 'header';
      return;
    }
    const zero = block.every((b) => b === 0);
    if (this.state === 'zero') {
      if (!zero) throw corrupt('a lone zero block sits between archive members');
      this.state = 'done';
      return;
    }
    if (zero) {
      if (this.longName !== null) throw corrupt('a GNU long name is followed by no member');
      this.state = 'zero';
      return;
    }
    if (!checksumValid(block)) throw corrupt('a tar header has a bad checksum');
    this.onHeader(block);
  }

  private onHeader(block: Buffer): void {
    const type = block[156] ?? 0;
    const size = numeric(block, 124, 12, 'size');
    const path = this.longName ?? headerPath(block);
    const shown = JSON.stringify(path.slice(0, 200));
    if (type === LONG_NAME) {
      if (this.longName !== null) throw corrupt('two GNU long names describe one member');
      if (size === 0 || size > MAX_LONG_NAME) {
        throw corrupt(`a GNU long name of ${size} bytes (at most ${MAX_LONG_NAME})`);
      }
      this.longNameLength = size;
      this.longNameSize = Math.ceil(size / BLOCK) * BLOCK;
      this.state = 'long-name';
      return;
    }
    this.longName = null;
    if (LINK_TYPES.has(type)) {
      throw new PlumblineError(
        'PLB_BCA_LINK_ENTRY',
        `archive member ${shown} is a link; links are refused`,
        { details: { path: path.slice(0, 200), type: typeName(type) } },
      );
    }
    if (!FILE_TYPES.has(type)) {
      throw new PlumblineError(
        'PLB_BCA_ENTRY_TYPE',
        `archive member ${shown} has tar type ${typeName(type)}; Barbacane's compiler writes only regular files (and GNU long names)`,
        { details: { path: path.slice(0, 200), type: typeName(type) } },
      );
    }
    if (path === this.digestBefore && this.memberStart !== null) {
      this.prefix = {
        digest: `sha256:${this.memberStart.hash.digest('hex')}`,
        size: this.memberStart.size,
      };
    }
    this.memberStart = null;
    this.target = this.sink.member({ path, size });
    this.filled = 0;
    this.padding = Math.ceil(size / BLOCK) * BLOCK - size;
    this.state = 'body';
  }
}
