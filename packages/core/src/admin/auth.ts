import { PlumblineError } from '../errors.js';
import { limitOption } from '../limit-option.js';
import { toHex, fromHex } from '../encoding/hex.js';
import { utf8 } from '../encoding/utf8.js';
import { sha256 } from '../hash/select.js';

/**
 * An admin bearer token as stored in configuration: an id for audit records and the SHA-256 of
 * the token (64 lowercase hex, optionally prefixed `sha256:`). The token itself is never stored.
 *
 * @public
 */
export interface AdminTokenHash {
  /** A name for the holder, used as the principal id in audit events (not secret). */
  readonly id: string;
  /** SHA-256 of the token's UTF-8 bytes, hex. */
  readonly sha256: string;
}

/**
 * The client certificate the listener saw, after TLS verified it (or failed to).
 *
 * @public
 */
export interface ClientCertificateInfo {
  /** Whether the chain verified against the listener's CA and the certificate is within its validity. */
  readonly verified: boolean;
  /** URI subject alternative names, in certificate order. */
  readonly uris: readonly string[];
  /** Why verification failed (an OpenSSL code such as `CERT_HAS_EXPIRED`), when it did. */
  readonly error?: string;
  /** SHA-256 fingerprint, for audit records. */
  readonly fingerprint256?: string;
}

/**
 * What the listener knows about a request beyond the WHATWG `Request`.
 *
 * @public
 */
export interface AdminRequestContext {
  /** The peer's IP address (the default rate-limit key). */
  readonly remoteAddress?: string;
  /** The client certificate, when TLS asked for one and the client sent one. */
  readonly clientCertificate?: ClientCertificateInfo;
  /**
   * An object standing for the client's connection (the Node listener passes its socket). With
   * it the handler remembers the credentials the connection last authenticated with, and a
   * request that repeats them exactly (compared in constant time) is not hashed again. Nothing
   * is shared between connections.
   */
  readonly connection?: object;
}

/**
 * Who made an authenticated admin request. Never contains a credential.
 *
 * @public
 */
export interface AdminPrincipal {
  /** `token/<id>`, the SPIFFE ID, or `anonymous`. */
  readonly id: string;
  /** How the principal authenticated. */
  readonly methods: readonly ('token' | 'client_certificate')[];
  /** The `id` of the matching {@link AdminTokenHash}, when a valid bearer token was presented. */
  readonly token_id?: string;
  /** The SPIFFE ID from the verified client certificate's URI SAN, when one was accepted. */
  readonly spiffe_id?: string;
}

/**
 * Authentication settings of the admin handler. At least one of `tokens` and `spiffeIds` is
 * needed, unless `allowUnauthenticated` is set.
 *
 * @public
 */
export interface AdminAuthOptions {
  /** Accepted bearer tokens, stored as SHA-256 hashes (see {@link hashAdminToken}). */
  readonly tokens?: readonly AdminTokenHash[];
  /**
   * Accepted SPIFFE IDs from a verified client certificate's URI SAN: exact IDs, or a prefix
   * ending in `/*` (`spiffe://example.org/ops/*`).
   */
  readonly spiffeIds?: readonly string[];
  /** `any` (default): one valid credential suffices; `all`: a valid token AND a valid certificate. */
  readonly require?: 'any' | 'all';
  /** Serve without authentication (local development only). Default `false`. */
  readonly allowUnauthenticated?: boolean;
  /** Longest bearer token accepted. Default 1024 characters. */
  readonly maxTokenLength?: number;
}

const HEX64_RE = /^[0-9a-f]{64}$/;
const TOKEN68_RE = /^[A-Za-z0-9\-._~+/]+=*$/;
const TOKEN_ID_RE = /^[A-Za-z0-9._:@-]{1,128}$/;
const SPIFFE_RE = /^spiffe:\/\/[a-z0-9.\-_]+(\/[A-Za-z0-9.\-_]+)*(\/\*)?$/;

/**
 * The SHA-256 (hex) of a token, as stored in {@link AdminTokenHash.sha256}.
 *
 * @example
 * ```ts
 * import { hashAdminToken } from '@plumbline/core/admin';
 * const stored = { id: 'ops', sha256: hashAdminToken(process.env.ADMIN_TOKEN!) };
 * ```
 * @public
 */
export function hashAdminToken(token: string): string {
  return toHex(sha256(utf8(token)));
}

function configError(message: string): PlumblineError {
  return new PlumblineError('PLB_ADMIN_CONFIG_INVALID', message);
}

/**
 * The authentication decision of one request.
 *
 * @internal
 */
export type AuthResult =
  { readonly ok: true; readonly principal: AdminPrincipal } | { readonly ok: false };

/**
 * Checks credentials in constant time with respect to the stored token hashes.
 *
 * @internal
 */
export class AdminAuthenticator {
  readonly #hashes: Uint8Array;
  readonly #ids: readonly string[];
  readonly #exact: ReadonlySet<string>;
  readonly #prefixes: readonly string[];
  readonly #require: 'any' | 'all';
  readonly #anonymous: boolean;
  readonly #maxTokenLength: number;
  readonly #scratch: Uint8Array;

  /** @throws {@link PlumblineError} `PLB_ADMIN_CONFIG_INVALID` for malformed settings. */
  constructor(options: AdminAuthOptions) {
    const tokens = options.tokens ?? [];
    const spiffe = options.spiffeIds ?? [];
    this.#require = options.require ?? 'any';
    this.#anonymous = options.allowUnauthenticated === true;
    this.#maxTokenLength = limitOption(options.maxTokenLength, {
      name: 'auth.maxTokenLength',
      code: 'PLB_ADMIN_CONFIG_INVALID',
      fallback: 1024,
    });
    if (this.#require !== 'any' && this.#require !== 'all') {
      throw configError('auth.require is "any" or "all"');
    }
    this.#scratch = new Uint8Array(Math.min(this.#maxTokenLength, 4096));
    if (tokens.length === 0 && spiffe.length === 0 && !this.#anonymous) {
      throw configError(
        'the admin handler needs tokens, spiffeIds, or an explicit allowUnauthenticated: true',
      );
    }
    if (this.#require === 'all' && (tokens.length === 0 || spiffe.length === 0)) {
      throw configError('auth.require "all" needs both tokens and spiffeIds');
    }
    this.#hashes = new Uint8Array(tokens.length * 32);
    const ids: string[] = [];
    tokens.forEach((token, index) => {
      if (typeof token?.id !== 'string' || !TOKEN_ID_RE.test(token.id)) {
        throw configError(`admin token #${index} needs an id of 1 to 128 plain characters`);
      }
      const hex = typeof token.sha256 === 'string' ? token.sha256.replace(/^sha256:/, '') : '';
      if (!HEX64_RE.test(hex)) {
        throw configError(`admin token "${token.id}" needs sha256: 64 lowercase hex characters`);
      }
      this.#hashes.set(fromHex(hex), index * 32);
      ids.push(token.id);
    });
    this.#ids = ids;
    const exact = new Set<string>();
    const prefixes: string[] = [];
    for (const id of spiffe) {
      if (typeof id !== 'string' || !SPIFFE_RE.test(id)) {
        throw configError('spiffeIds entries are spiffe://trust-domain/path IDs, or end in /*');
      }
      if (id.endsWith('/*')) prefixes.push(id.slice(0, -1));
      else exact.add(id);
    }
    this.#exact = exact;
    this.#prefixes = prefixes;
  }

  /** Whether tokens are configured. */
  get usesTokens(): boolean {
    return this.#ids.length > 0;
  }

  /** Whether client certificates are configured. */
  get usesCertificates(): boolean {
    return this.#exact.size > 0 || this.#prefixes.length > 0;
  }

  #checkToken(header: string | null): { presented: boolean; id?: string } {
    if (header === null) return { presented: false };
    if (header.length > this.#maxTokenLength + 16) return { presented: true };
    const match = /^Bearer +(\S+) *$/i.exec(header);
    const token = match?.[1];
    if (token === undefined || token.length > this.#maxTokenLength || !TOKEN68_RE.test(token)) {
      return { presented: true };
    }
    // The token matched TOKEN68 above, so it is ASCII: copy it into a reused buffer instead of
    // allocating an encoded copy for every request.
    let digest: Uint8Array;
    const ascii = this.#scratch;
    if (token.length <= ascii.length) {
      for (let i = 0; i < token.length; i++) ascii[i] = token.charCodeAt(i);
      digest = sha256(ascii.subarray(0, token.length));
      ascii.fill(0, 0, token.length);
    } else {
      digest = sha256(utf8(token));
    }
    const hashes = this.#hashes;
    let found = -1;
    for (let t = 0; t < this.#ids.length; t++) {
      let diff = 0;
      const base = t * 32;
      for (let i = 0; i < 32; i++) diff |= hashes[base + i]! ^ digest[i]!;
      // Branch-free select: found becomes t when diff is 0, without an early exit.
      const equal = ((diff - 1) >>> 31) & 1;
      found = equal === 1 ? t : found;
    }
    return found >= 0 ? { presented: true, id: this.#ids[found]! } : { presented: true };
  }

  #checkCertificate(cert: ClientCertificateInfo | undefined): { presented: boolean; id?: string } {
    if (cert === undefined || !this.usesCertificates) return { presented: false };
    if (!cert.verified) return { presented: true };
    const spiffe = cert.uris.filter((uri) => uri.toLowerCase().startsWith('spiffe://'));
    // A SPIFFE SVID carries exactly one SPIFFE ID.
    if (spiffe.length !== 1) return { presented: true };
    const id = spiffe[0]!;
    if (this.#exact.has(id)) return { presented: true, id };
    for (const prefix of this.#prefixes) {
      if (id.startsWith(prefix) && id.length > prefix.length) return { presented: true, id };
    }
    return { presented: true };
  }

  /** Decides whether the request is authenticated. Says nothing about which part failed. */
  authenticate(authorization: string | null, context: AdminRequestContext | undefined): AuthResult {
    const token = this.usesTokens
      ? this.#checkToken(authorization)
      : { presented: authorization !== null };
    const cert = this.#checkCertificate(context?.clientCertificate);
    if (!token.presented && !cert.presented) {
      return this.#anonymous
        ? { ok: true, principal: { id: 'anonymous', methods: [] } }
        : { ok: false };
    }
    // Every credential presented must be valid: a wrong token next to a good certificate fails.
    if ((token.presented && token.id === undefined) || (cert.presented && cert.id === undefined)) {
      return { ok: false };
    }
    if (this.#require === 'all' && (token.id === undefined || cert.id === undefined)) {
      return { ok: false };
    }
    const methods: ('token' | 'client_certificate')[] = [];
    if (token.id !== undefined) methods.push('token');
    if (cert.id !== undefined) methods.push('client_certificate');
    const id = cert.id ?? `token/${token.id!}`;
    return {
      ok: true,
      principal: {
        id,
        methods,
        ...(token.id === undefined ? {} : { token_id: token.id }),
        ...(cert.id === undefined ? {} : { spiffe_id: cert.id }),
      },
    };
  }
}
