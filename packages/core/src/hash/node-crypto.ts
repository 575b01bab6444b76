import type { HashBackend, Sha256Hasher } from './backend.js';

interface NodeHash {
  update(data: Uint8Array): NodeHash;
  digest(): Uint8Array;
}
interface NodeCryptoModule {
  createHash(algorithm: 'sha256'): NodeHash;
  /** One-shot hashing without a Hash object (Node >= 20.12); much cheaper for small inputs. */
  hash?: {
    (algorithm: 'sha256', data: Uint8Array, outputEncoding: 'buffer'): Uint8Array;
    (algorithm: 'sha256', data: Uint8Array, outputEncoding: 'latin1'): string;
  };
}

function loadNodeCrypto(): NodeCryptoModule | undefined {
  // process.getBuiltinModule (Node >= 20.16, Bun, Deno) loads node:crypto synchronously without a
  // static import, so this file stays importable in runtimes that have no node:crypto.
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.('node:crypto') as NodeCryptoModule | undefined;
  return mod && typeof mod.createHash === 'function' ? mod : undefined;
}

function toBytes(value: Uint8Array): Uint8Array {
  // Buffer is a Uint8Array; return a plain view so callers never depend on Buffer methods.
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * The `node:crypto` SHA-256 backend, or `undefined` where the runtime has no `node:crypto`.
 *
 * @public
 */
export function nodeCryptoHashBackend(): HashBackend | undefined {
  const nodeCrypto = loadNodeCrypto();
  if (!nodeCrypto) return undefined;
  const oneShot =
    typeof nodeCrypto.hash === 'function' ? nodeCrypto.hash.bind(nodeCrypto) : undefined;
  return {
    name: 'node:crypto',
    createSha256(): Sha256Hasher {
      const inner = nodeCrypto.createHash('sha256');
      const hasher: Sha256Hasher = {
        update(data) {
          inner.update(data);
          return hasher;
        },
        digest() {
          return toBytes(inner.digest());
        },
      };
      return hasher;
    },
    sha256: oneShot
      ? (data) => toBytes(oneShot('sha256', data, 'buffer'))
      : (data) => toBytes(nodeCrypto.createHash('sha256').update(data).digest()),
    // The digest as a one-byte (latin1) string written in place: no buffer per digest (on many
    // small inputs those allocations were a large part of the garbage collector's work).
    ...(oneShot && {
      sha256Into(data: Uint8Array, out: Uint8Array, at: number): void {
        const digest = oneShot('sha256', data, 'latin1');
        for (let k = 0; k < 32; k++) out[at + k] = digest.charCodeAt(k);
      },
    }),
  };
}
