import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../encoding/hex.js';

/**
 * Replaces the secrets a live configuration holds (TLS private keys, upstream and user passwords,
 * tokens, `Authorization` values, passwords in URLs) by a keyed marker before a digest is taken.
 *
 * The marker is `[redacted:<16 hex>]`, the first 8 bytes of HMAC-SHA-256 under a key that never
 * leaves the process, so a changed secret still changes the digest (it is drift like any other
 * change), while the digest cannot be used to guess the secret offline. Marking a value that was
 * no secret loses nothing but readability of a difference.
 *
 * @public
 */
export interface SecretRedactor {
  /** Whether a JSON member name or a configuration keyword names a secret. */
  isSecretName(name: string): boolean;
  /** The marker that replaces one secret value. */
  marker(secret: string): string;
  /** A string with the secrets inside it (PEM private keys, URL passwords, credentials after `Basic`/`Bearer`) marked. */
  scrub(text: string): string;
}

const SECRET_NAME =
  /^(?:pass(?:word|wd|phrase)?|insecure-password|secret|client[_-]?secret|shared[_-]?secret|private[_-]?key|key|key[_-]?pem|keys?[_-]?data|token|access[_-]?token|refresh[_-]?token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|credentials?|authorization|proxy-authorization|cookie|auth|basic_?auth|digest_?auth|ssl_password|ssl_certificate_key)$/i;
const SECRET_SUFFIX = /(?:password|passwd|secret|token|api[_-]?key|private[_-]?key)$/i;

const PEM_PRIVATE =
  /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*):([^/@\s]*)@/gi;
const SCHEME_CREDENTIALS = /\b(Basic|Bearer|Digest|Token)\s+([A-Za-z0-9._~+/=-]{4,})/g;

/**
 * Creates a {@link SecretRedactor}. Without `key`, a random 32-byte key is drawn: digests are then
 * stable within the process (what the agent compares), and differ between processes.
 *
 * @example
 * ```ts
 * const redactor = createSecretRedactor();
 * redactor.scrub('postgres://app:hunter2@db/app'); // 'postgres://app:[redacted:…]@db/app'
 * ```
 * @public
 */
export function createSecretRedactor(options: { readonly key?: Uint8Array } = {}): SecretRedactor {
  const key = options.key ?? crypto.getRandomValues(new Uint8Array(32));
  const encoder = new TextEncoder();
  const memo = new Map<string, string>();
  const marker = (secret: string): string => {
    let found = memo.get(secret);
    if (found === undefined) {
      found = `[redacted:${toHex(hmac(sha256, key, encoder.encode(secret)).subarray(0, 8))}]`;
      if (memo.size > 4096) memo.clear();
      memo.set(secret, found);
    }
    return found;
  };
  return {
    isSecretName: (name) => SECRET_NAME.test(name) || SECRET_SUFFIX.test(name),
    marker,
    scrub(text) {
      if (
        !text.includes('PRIVATE KEY') &&
        !text.includes('@') &&
        !/Basic|Bearer|Digest|Token/.test(text)
      )
        return text;
      return text
        .replace(PEM_PRIVATE, (block) => marker(block))
        .replace(
          URL_USERINFO,
          (_all, scheme: string, user: string, pass: string) => `${scheme}${user}:${marker(pass)}@`,
        )
        .replace(
          SCHEME_CREDENTIALS,
          (_all, scheme: string, value: string) => `${scheme} ${marker(value)}`,
        );
    },
  };
}
