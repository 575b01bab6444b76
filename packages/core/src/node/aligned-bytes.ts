/**
 * Read buffers that start on a page boundary.
 *
 * The kernel copies file data into a buffer whose first byte is not 64-byte aligned several times
 * slower on some CPUs: on AMD EPYC, hashing 512 MiB from the page cache spent 0.28 s in the kernel
 * with a plain `Uint8Array` (whose memory starts 16 bytes into a page) against 0.06 s with a
 * page-aligned one, for any read size (docs/benchmarks.md). JavaScript cannot ask for alignment,
 * but the memory of a WebAssembly instance starts on a page, and Node's file reads and hashes take
 * a view of it like any other bytes.
 *
 * @internal
 * @packageDocumentation
 */

const WASM_PAGE = 64 * 1024;

/**
 * `size` zeroed bytes whose first byte is page-aligned (a plain `Uint8Array` where the runtime
 * has no WebAssembly, e.g. `--jitless`, or refuses the memory).
 *
 * @internal
 */
export function alignedBytes(size: number): Uint8Array<ArrayBuffer> {
  const pages = Math.max(1, Math.ceil(size / WASM_PAGE));
  try {
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    return new Uint8Array(memory.buffer, 0, size);
  } catch {
    return new Uint8Array(size);
  }
}
