import { PlumblineError } from '../errors.js';
import { toHex } from '../encoding/hex.js';
import { sha256 } from '../hash/select.js';
import { derToP1363, p1363ToDer } from './ecdsa-der.js';
import { decodePem, encodePem } from './pem.js';
import type { SignatureAlgorithm } from './types.js';

/**
 * The shape of a `node:crypto` `KeyObject` that the SDK relies on (so this module needs no
 * `node:crypto` types and stays runtime-neutral).
 *
 * @public
 */
export interface KeyObjectLike {
  /** Whether the key is a secret (symmetric), public or private key. */
  readonly type: 'secret' | 'public' | 'private';
  /** The asymmetric key type, such as `ed25519` or `ec`; absent for a secret key. */
  readonly asymmetricKeyType?: string;
  /** Exports the key; the SDK asks for DER (`{ type: 'spki' | 'pkcs8', format: 'der' }`). */
  export(options: { type: string; format: string }): unknown;
}

/**
 * A key as users hold it: PEM text (or its bytes), DER bytes (PKCS #8 private or SPKI public),
 * a JWK, a `node:crypto` `KeyObject`, or a WebCrypto `CryptoKey`.
 *
 * @public
 */
export type KeyInput = string | Uint8Array | JsonWebKey | KeyObjectLike | CryptoKey;

/**
 * Which crypto implementation to use: `node:crypto` when the runtime has it (the default), or
 * WebCrypto (`globalThis.crypto.subtle`), which every modern runtime has.
 *
 * @public
 */
export type CryptoRuntime = 'auto' | 'node:crypto' | 'webcrypto';

/** A loaded public key. @internal */
export interface PublicKeyHandle {
  readonly algorithm: SignatureAlgorithm;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  verify(data: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/** A loaded private key. @internal */
export interface PrivateKeyHandle {
  readonly algorithm: SignatureAlgorithm;
  readonly publicKey: PublicKeyHandle;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

interface NodeKeyObject extends KeyObjectLike {
  readonly asymmetricKeyDetails?: { namedCurve?: string };
}
interface NodeSigningCrypto {
  createPrivateKey(input: unknown): NodeKeyObject;
  createPublicKey(input: unknown): NodeKeyObject;
  sign(algorithm: string | null, data: Uint8Array, key: unknown): Uint8Array;
  verify(algorithm: string | null, data: Uint8Array, key: unknown, signature: Uint8Array): boolean;
  generateKeyPairSync(
    type: string,
    options?: unknown,
  ): { privateKey: NodeKeyObject; publicKey: NodeKeyObject };
}

function loadNodeCrypto(): NodeSigningCrypto | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.('node:crypto') as NodeSigningCrypto | undefined;
  return mod && typeof mod.createPrivateKey === 'function' && typeof mod.sign === 'function'
    ? mod
    : undefined;
}

function loadSubtle(): SubtleCrypto | undefined {
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  return subtle && typeof subtle.importKey === 'function' ? subtle : undefined;
}

function selectRuntime(runtime: CryptoRuntime | undefined): 'node:crypto' | 'webcrypto' {
  if (runtime === 'webcrypto') {
    if (!loadSubtle())
      throw new PlumblineError('PLB_CRYPTO_UNAVAILABLE', 'this runtime has no WebCrypto');
    return 'webcrypto';
  }
  if (loadNodeCrypto()) return 'node:crypto';
  if (runtime === 'node:crypto') {
    throw new PlumblineError('PLB_CRYPTO_UNAVAILABLE', 'this runtime has no node:crypto');
  }
  if (loadSubtle()) return 'webcrypto';
  throw new PlumblineError(
    'PLB_CRYPTO_UNAVAILABLE',
    'this runtime has neither node:crypto nor WebCrypto',
  );
}

function isCryptoKey(value: unknown): value is CryptoKey {
  return (
    typeof value === 'object' &&
    value !== null &&
    'algorithm' in value &&
    'usages' in value &&
    'extractable' in value &&
    !('export' in value)
  );
}

function isKeyObject(value: unknown): value is NodeKeyObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    'export' in value &&
    'type' in value &&
    !(value instanceof Uint8Array)
  );
}

function isJwk(value: unknown): value is JsonWebKey {
  return (
    typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && 'kty' in value
  );
}

function asBytes(value: Uint8Array): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function looksLikePem(input: string | Uint8Array): string | undefined {
  if (typeof input === 'string') return input;
  // "-----" at the start (after optional whitespace) means PEM text in bytes.
  let i = 0;
  while (
    i < input.length &&
    (input[i] === 0x20 || input[i] === 0x0a || input[i] === 0x0d || input[i] === 0x09)
  )
    i++;
  if (input[i] === 0x2d) return new TextDecoder().decode(input);
  return undefined;
}

const OID_ED25519 = [0x06, 0x03, 0x2b, 0x65, 0x70];
const OID_EC_PUBLIC_KEY = [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

function contains(haystack: Uint8Array, needle: readonly number[], limit = 64): boolean {
  const end = Math.min(haystack.length - needle.length, limit);
  outer: for (let i = 0; i <= end; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** The algorithm named by the AlgorithmIdentifier near the start of a PKCS #8 or SPKI structure. */
function algorithmOfDer(der: Uint8Array): SignatureAlgorithm {
  if (contains(der, OID_ED25519)) return 'ed25519';
  if (contains(der, OID_EC_PUBLIC_KEY) && contains(der, OID_P256)) return 'ecdsa-p256-sha256';
  throw new PlumblineError(
    'PLB_KEY_UNSUPPORTED',
    'only Ed25519 and ECDSA P-256 keys are supported',
  );
}

function algorithmOfJwk(jwk: JsonWebKey): SignatureAlgorithm {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'ed25519';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ecdsa-p256-sha256';
  throw new PlumblineError(
    'PLB_KEY_UNSUPPORTED',
    'only Ed25519 (OKP) and P-256 (EC) JWKs are supported',
    {
      details: { kty: jwk.kty, crv: jwk.crv },
    },
  );
}

function algorithmOfKeyObject(key: NodeKeyObject): SignatureAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return 'ecdsa-p256-sha256';
  }
  throw new PlumblineError(
    'PLB_KEY_UNSUPPORTED',
    'only Ed25519 and ECDSA P-256 keys are supported',
    {
      details: { type: key.asymmetricKeyType, curve: key.asymmetricKeyDetails?.namedCurve },
    },
  );
}

function wrapKeyError(error: unknown, what: string): PlumblineError {
  if (PlumblineError.is(error)) return error;
  return new PlumblineError('PLB_KEY_INVALID', `cannot read the ${what}`, { cause: error });
}

// ---------------------------------------------------------------- node:crypto

function nodePublic(crypto: NodeSigningCrypto, key: NodeKeyObject): PublicKeyHandle {
  const algorithm = algorithmOfKeyObject(key);
  const spki = asBytes(key.export({ type: 'spki', format: 'der' }) as Uint8Array);
  return {
    algorithm,
    spki,
    async verify(data, signature) {
      try {
        return algorithm === 'ed25519'
          ? crypto.verify(null, data, key, signature)
          : crypto.verify('sha256', data, { key, dsaEncoding: 'der' }, signature);
      } catch {
        return false;
      }
    },
  };
}

function nodeLoadPublic(crypto: NodeSigningCrypto, input: KeyInput): PublicKeyHandle {
  let key: NodeKeyObject;
  try {
    if (isKeyObject(input)) {
      key = input.type === 'private' ? crypto.createPublicKey(input) : (input as NodeKeyObject);
      if (key.type !== 'public')
        throw new PlumblineError('PLB_KEY_INVALID', 'a secret key is not a public key');
    } else if (isJwk(input)) {
      const { d: _d, ...pub } = input;
      key = crypto.createPublicKey({ key: pub, format: 'jwk' });
    } else if (typeof input === 'string' || input instanceof Uint8Array) {
      const pem = looksLikePem(input);
      if (pem !== undefined) {
        decodePem(pem); // size and shape checks with our own error codes
        key = crypto.createPublicKey({ key: pem, format: 'pem' });
      } else {
        key = crypto.createPublicKey({ key: input, format: 'der', type: 'spki' });
      }
    } else {
      throw new PlumblineError('PLB_KEY_INVALID', 'unsupported public key input');
    }
  } catch (error) {
    throw wrapKeyError(error, 'public key');
  }
  return nodePublic(crypto, key);
}

function nodeLoadPrivate(
  crypto: NodeSigningCrypto,
  input: KeyInput,
  passphrase?: string,
): PrivateKeyHandle {
  let key: NodeKeyObject;
  try {
    if (isKeyObject(input)) {
      if (input.type !== 'private')
        throw new PlumblineError('PLB_KEY_INVALID', 'the key is not a private key');
      key = input as NodeKeyObject;
    } else if (isJwk(input)) {
      if (typeof input.d !== 'string')
        throw new PlumblineError('PLB_KEY_INVALID', 'the JWK has no private part');
      key = crypto.createPrivateKey({ key: input, format: 'jwk' });
    } else if (typeof input === 'string' || input instanceof Uint8Array) {
      const pem = looksLikePem(input);
      if (pem !== undefined) {
        decodePem(pem.replace(/^Proc-Type:.*$|^DEK-Info:.*$/gm, ''));
        key = crypto.createPrivateKey({
          key: pem,
          format: 'pem',
          ...(passphrase === undefined ? {} : { passphrase }),
        });
      } else {
        key = crypto.createPrivateKey({ key: input, format: 'der', type: 'pkcs8' });
      }
    } else {
      throw new PlumblineError('PLB_KEY_INVALID', 'unsupported private key input');
    }
  } catch (error) {
    throw wrapKeyError(error, 'private key');
  }
  const algorithm = algorithmOfKeyObject(key);
  const publicKey = nodePublic(crypto, crypto.createPublicKey(key));
  return {
    algorithm,
    publicKey,
    async sign(data) {
      return asBytes(
        algorithm === 'ed25519'
          ? crypto.sign(null, data, key)
          : crypto.sign('sha256', data, { key, dsaEncoding: 'der' }),
      );
    },
  };
}

// ---------------------------------------------------------------- WebCrypto

function webAlgorithm(algorithm: SignatureAlgorithm): EcKeyImportParams | Algorithm {
  return algorithm === 'ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' };
}

function webSignParams(algorithm: SignatureAlgorithm): EcdsaParams | Algorithm {
  return algorithm === 'ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' };
}

function algorithmOfCryptoKey(key: CryptoKey): SignatureAlgorithm {
  const alg = key.algorithm as { name: string; namedCurve?: string };
  if (alg.name === 'Ed25519') return 'ed25519';
  if (alg.name === 'ECDSA' && alg.namedCurve === 'P-256') return 'ecdsa-p256-sha256';
  throw new PlumblineError(
    'PLB_KEY_UNSUPPORTED',
    'only Ed25519 and ECDSA P-256 keys are supported',
    {
      details: { name: alg.name },
    },
  );
}

async function webPublic(subtle: SubtleCrypto, key: CryptoKey): Promise<PublicKeyHandle> {
  const algorithm = algorithmOfCryptoKey(key);
  const spki = new Uint8Array(await subtle.exportKey('spki', key));
  return {
    algorithm,
    spki,
    async verify(data, signature) {
      let raw: Uint8Array | undefined = signature;
      if (algorithm === 'ecdsa-p256-sha256') raw = derToP1363(signature, 32);
      if (!raw) return false;
      try {
        return await subtle.verify(
          webSignParams(algorithm),
          key,
          raw as BufferSource,
          data as BufferSource,
        );
      } catch {
        return false;
      }
    },
  };
}

function derOf(input: string | Uint8Array, label: 'PUBLIC KEY' | 'PRIVATE KEY'): Uint8Array {
  const pem = looksLikePem(input);
  if (pem === undefined) return input as Uint8Array;
  const block = decodePem(pem).find((b) => b.label === label);
  if (!block) {
    throw new PlumblineError(
      'PLB_KEY_UNSUPPORTED',
      `WebCrypto reads "${label}" PEM blocks only (convert the key with openssl pkcs8 / pkey)`,
    );
  }
  return block.der;
}

async function webLoadPublic(subtle: SubtleCrypto, input: KeyInput): Promise<PublicKeyHandle> {
  try {
    if (isCryptoKey(input)) {
      if (input.type === 'public') return await webPublic(subtle, input);
      throw new PlumblineError('PLB_KEY_INVALID', 'the CryptoKey is not a public key');
    }
    if (isJwk(input)) {
      const algorithm = algorithmOfJwk(input);
      const { d: _d, key_ops: _ops, ...pub } = input;
      const key = await subtle.importKey('jwk', pub, webAlgorithm(algorithm), true, ['verify']);
      return await webPublic(subtle, key);
    }
    if (typeof input === 'string' || input instanceof Uint8Array) {
      const der = derOf(input, 'PUBLIC KEY');
      const algorithm = algorithmOfDer(der);
      const key = await subtle.importKey(
        'spki',
        der as BufferSource,
        webAlgorithm(algorithm),
        true,
        ['verify'],
      );
      return await webPublic(subtle, key);
    }
  } catch (error) {
    throw wrapKeyError(error, 'public key');
  }
  throw new PlumblineError(
    'PLB_KEY_INVALID',
    'a node:crypto KeyObject needs the node:crypto runtime',
  );
}

async function webLoadPrivate(subtle: SubtleCrypto, input: KeyInput): Promise<PrivateKeyHandle> {
  let key: CryptoKey;
  try {
    if (isCryptoKey(input)) {
      if (input.type !== 'private')
        throw new PlumblineError('PLB_KEY_INVALID', 'the CryptoKey is not a private key');
      key = input;
    } else if (isJwk(input)) {
      if (typeof input.d !== 'string')
        throw new PlumblineError('PLB_KEY_INVALID', 'the JWK has no private part');
      key = await subtle.importKey('jwk', input, webAlgorithm(algorithmOfJwk(input)), true, [
        'sign',
      ]);
    } else if (typeof input === 'string' || input instanceof Uint8Array) {
      const der = derOf(input, 'PRIVATE KEY');
      key = await subtle.importKey(
        'pkcs8',
        der as BufferSource,
        webAlgorithm(algorithmOfDer(der)),
        true,
        ['sign'],
      );
    } else {
      throw new PlumblineError(
        'PLB_KEY_INVALID',
        'a node:crypto KeyObject needs the node:crypto runtime',
      );
    }
  } catch (error) {
    throw wrapKeyError(error, 'private key');
  }
  const algorithm = algorithmOfCryptoKey(key);
  // WebCrypto cannot derive a public key directly; the JWK of a private key carries it.
  const jwk = await subtle.exportKey('jwk', key).catch((error: unknown) => {
    throw new PlumblineError(
      'PLB_KEY_INVALID',
      'the private CryptoKey must be extractable to derive its public key',
      {
        cause: error,
      },
    );
  });
  const { d: _d, key_ops: _ops, ...pub } = jwk;
  const publicKey = await webPublic(
    subtle,
    await subtle.importKey('jwk', pub, webAlgorithm(algorithm), true, ['verify']),
  );
  return {
    algorithm,
    publicKey,
    async sign(data) {
      const signature = new Uint8Array(
        await subtle.sign(webSignParams(algorithm), key, data as BufferSource),
      );
      return algorithm === 'ed25519' ? signature : p1363ToDer(signature);
    },
  };
}

// ---------------------------------------------------------------- public entry points

/**
 * Loads a public key (Ed25519 or ECDSA P-256). A private key input yields its public half.
 *
 * @internal
 */
export async function loadPublicKey(
  input: KeyInput,
  runtime?: CryptoRuntime,
): Promise<PublicKeyHandle> {
  if (isCryptoKey(input)) return webLoadPublic(loadSubtle()!, input);
  if (selectRuntime(runtime) === 'node:crypto') return nodeLoadPublic(loadNodeCrypto()!, input);
  if (isJwk(input) && typeof input.d === 'string')
    return (await webLoadPrivate(loadSubtle()!, input)).publicKey;
  return webLoadPublic(loadSubtle()!, input);
}

/**
 * Loads a private key (Ed25519 or ECDSA P-256).
 *
 * @internal
 */
export async function loadPrivateKey(
  input: KeyInput,
  options: { readonly passphrase?: string; readonly runtime?: CryptoRuntime } = {},
): Promise<PrivateKeyHandle> {
  if (isCryptoKey(input)) return webLoadPrivate(loadSubtle()!, input);
  if (selectRuntime(options.runtime) === 'node:crypto') {
    return nodeLoadPrivate(loadNodeCrypto()!, input, options.passphrase);
  }
  if (options.passphrase !== undefined) {
    throw new PlumblineError(
      'PLB_KEY_UNSUPPORTED',
      'encrypted private keys need the node:crypto runtime',
    );
  }
  return webLoadPrivate(loadSubtle()!, input);
}

/**
 * The key id the SDK gives a public key: the lowercase hex SHA-256 of its DER
 * SubjectPublicKeyInfo (the same value as `openssl pkey -pubin -outform DER | sha256sum`).
 *
 * @example
 * ```ts
 * const keyId = await computeKeyId(publicKeyPem); // '3b1f…' (64 hex characters)
 * ```
 * @throws {@link PlumblineError} `PLB_KEY_INVALID` / `PLB_KEY_UNSUPPORTED` for an unreadable key.
 * @public
 */
export async function computeKeyId(
  publicKey: KeyInput,
  options: { readonly runtime?: CryptoRuntime } = {},
): Promise<string> {
  return keyIdOfSpki((await loadPublicKey(publicKey, options.runtime)).spki);
}

/** @internal */
export function keyIdOfSpki(spki: Uint8Array): string {
  return toHex(sha256(spki));
}

/**
 * A generated key pair in PEM (PKCS #8 private key, SPKI public key) with its key id.
 *
 * @public
 */
export interface GeneratedKeyPair {
  /** The key pair's algorithm. */
  readonly algorithm: SignatureAlgorithm;
  /** `-----BEGIN PRIVATE KEY-----` (unencrypted PKCS #8): store it with mode 0600. */
  readonly privateKeyPem: string;
  /** `-----BEGIN PUBLIC KEY-----` (SPKI). */
  readonly publicKeyPem: string;
  /** The key id: lowercase hex SHA-256 of the DER public key (see {@link computeKeyId}). */
  readonly keyId: string;
}

/**
 * Generates a signing key pair (ECDSA P-256 by default, or Ed25519).
 *
 * @example
 * ```ts
 * const { privateKeyPem, publicKeyPem, keyId } = await generateSigningKeyPair();
 * ```
 * @throws {@link PlumblineError} `PLB_KEY_UNSUPPORTED` for another algorithm,
 *   `PLB_CRYPTO_UNAVAILABLE` without any crypto runtime.
 * @public
 */
export async function generateSigningKeyPair(
  options: { readonly algorithm?: SignatureAlgorithm; readonly runtime?: CryptoRuntime } = {},
): Promise<GeneratedKeyPair> {
  const algorithm = options.algorithm ?? 'ecdsa-p256-sha256';
  if (algorithm !== 'ed25519' && algorithm !== 'ecdsa-p256-sha256') {
    throw new PlumblineError('PLB_KEY_UNSUPPORTED', `cannot generate "${String(algorithm)}" keys`);
  }
  let pkcs8: Uint8Array;
  let spki: Uint8Array;
  if (selectRuntime(options.runtime) === 'node:crypto') {
    const crypto = loadNodeCrypto()!;
    const pair =
      algorithm === 'ed25519'
        ? crypto.generateKeyPairSync('ed25519')
        : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    pkcs8 = asBytes(pair.privateKey.export({ type: 'pkcs8', format: 'der' }) as Uint8Array);
    spki = asBytes(pair.publicKey.export({ type: 'spki', format: 'der' }) as Uint8Array);
  } else {
    const subtle = loadSubtle()!;
    const pair = (await subtle.generateKey(webAlgorithm(algorithm) as EcKeyGenParams, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', pair.privateKey));
    spki = new Uint8Array(await subtle.exportKey('spki', pair.publicKey));
  }
  return {
    algorithm,
    privateKeyPem: encodePem('PRIVATE KEY', pkcs8),
    publicKeyPem: encodePem('PUBLIC KEY', spki),
    keyId: keyIdOfSpki(spki),
  };
}
