import { limitOption } from '../limit-option.js';
import { toHex } from '../encoding/hex.js';
import { createSha256 } from '../hash/select.js';
import { utf8 } from '../encoding/utf8.js';

/**
 * The text that replaces a redacted value.
 *
 * @public
 */
export const REDACTED = '[REDACTED]';

/**
 * Key names whose values are always redacted (compared after lowercasing and removing `-`, `_`,
 * `.` and spaces, so `Private-Key`, `private_key` and `privateKey` all match). A key matches when
 * its normalized form equals an entry or ends with one (`db_password`, `x-api-key`).
 *
 * @public
 */
export const DEFAULT_DENIED_KEYS: readonly string[] = [
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'secret',
  'clientsecret',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'authorization',
  'proxyauthorization',
  'auth',
  'cookie',
  'setcookie',
  'privatekey',
  'apikey',
  'accesskey',
  'secretkey',
  'credential',
  'credentials',
  'signingkey',
  'sessionid',
  'bearer',
  'jwt',
  'dsn',
  'connectionstring',
];

/**
 * Options of {@link createRedactor}. Every limit has a finite default.
 *
 * @public
 */
export interface RedactionOptions {
  /** Key names to redact in addition to {@link DEFAULT_DENIED_KEYS}. */
  readonly deniedKeys?: readonly string[];
  /** Key names exempted from the deny-list (normalized like it), such as `token_name`. */
  readonly allowedKeys?: readonly string[];
  /**
   * When set, redacted values become `[REDACTED:hmac:<16 hex>]`, an HMAC-SHA256 fingerprint under
   * this key, so equal secrets can be correlated across events without being revealed. Keep the
   * key secret and at least 32 random bytes.
   */
  readonly fingerprintKey?: Uint8Array;
  /** Deepest nesting kept; deeper values become `"[TRUNCATED]"`. Default 16. */
  readonly maxDepth?: number;
  /** Longest string kept (UTF-16 units); longer ones are cut and marked. Default 8192. */
  readonly maxStringLength?: number;
  /** Most keys per object or items per array kept. Default 1000. */
  readonly maxEntries?: number;
  /** Extra value detectors (a global regular expression each): matches are replaced. */
  readonly patterns?: readonly RegExp[];
}

/**
 * Redacts secrets from any value and returns a JSON-safe copy (plain objects, arrays, strings,
 * finite numbers, booleans, null).
 *
 * @public
 */
export type Redactor = (value: unknown) => unknown;

// Value detectors. Each is global; matches are replaced (the text around them is kept so error
// messages stay readable). `hints`: text one of which (lower-cased) every match contains. A string
// that holds none of them cannot match, so the replacement is skipped; replacements only ever insert
// "[REDACTED…]", which holds none of them, so skipping never changes the result (a property test
// compares with running every detector).
interface Detector {
  readonly re: RegExp;
  readonly hints?: readonly string[];
}
const VALUE_DETECTORS: readonly Detector[] = [
  // PEM private keys (any flavour), including a torn one without its END line.
  {
    re: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
    hints: ['-----begin '],
  },
  // JSON Web Tokens (JWS compact: header.payload.signature, header starts with {").
  { re: /\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g, hints: ['eyj'] },
  // Authorization schemes followed by credentials (not a content digest: "digest sha256:…").
  {
    re: /\b(?:Bearer|Basic|Digest|Token|Bot)\s+(?!sha(?:256|384|512):[0-9a-f])[A-Za-z0-9._~+/=:-]{6,}/gi,
    hints: ['bearer', 'basic', 'digest', 'token', 'bot'],
  },
  // AWS access key ids and secret keys in key=value form.
  {
    re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g,
    hints: ['akia', 'asia', 'agpa', 'aida', 'aroa', 'anpa', 'anva', 'aipa'],
  },
  { re: /\baws_?secret_?access_?key\s*[=:]\s*\S+/gi, hints: ['aws'] },
  // Google API keys, GitHub, GitLab, Slack, Stripe and npm tokens.
  { re: /\bAIza[0-9A-Za-z_-]{35}\b/g, hints: ['aiza'] },
  {
    re: /\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}\b/g,
    hints: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'],
  },
  { re: /\bglpat-[A-Za-z0-9_-]{20,}\b/g, hints: ['glpat-'] },
  { re: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g, hints: ['xox'] },
  { re: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b/g, hints: ['_live_', '_test_'] },
  { re: /\bnpm_[A-Za-z0-9]{36}\b/g, hints: ['npm_'] },
  // Azure storage account keys in connection strings.
  { re: /\bAccountKey=[^;\s]+/gi, hints: ['accountkey='] },
];
const VALUE_PATTERNS = VALUE_DETECTORS.map((d) => d.re);

// user:password@ in any URL-like text (scheme://user:pass@host).
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*)(?::[^\s/@]*)?@/gi;
// Query, fragment or matrix parameters (?token=..., &sig=..., #access_token=...); the name is
// checked in the callback (no backtracking on long names).
const URL_PARAM = /([?&#;])([a-z0-9_.-]{1,64})=([^&#\s"']*)/gi;
const SENSITIVE_PARAM = /token|secret|password|passwd|pwd|key|sig|auth|credential|session/i;

// key=value and key: value pairs with a sensitive key inside free text (error messages, reasons).
const TEXT_PAIR =
  /(password|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|authorization|cookie|credentials?)(["']?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"'}\]]+)/gi;

const USERINFO_HINTS = ['://'];
const TEXT_PAIR_HINTS = [
  'pass',
  'pwd',
  'secret',
  'token',
  'api',
  'access',
  'private',
  'authorization',
  'cookie',
  'credential',
];
const URL_PARAM_HINTS = ['='];

/** Whether a detector with `hints` may match the text lower-cased as `lower` (without either: yes). */
function hinted(lower: string | undefined, hints: readonly string[] | undefined): boolean {
  if (lower === undefined || hints === undefined) return true;
  for (const h of hints) if (lower.includes(h)) return true;
  return false;
}

// One test per string: strings no detector could match skip the replacements entirely.
const DETECT = new RegExp(
  [
    ...VALUE_PATTERNS.filter((p) => !p.ignoreCase).map((p) => p.source),
    '[?&#;][a-zA-Z0-9_.-]{1,64}=',
  ].join('|'),
);
const DETECT_CI = new RegExp(
  [
    ...VALUE_PATTERNS.filter((p) => p.ignoreCase).map((p) => p.source),
    URL_USERINFO.source,
    TEXT_PAIR.source,
  ].join('|'),
  'i',
);

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[-_.\s]/g, '');
}

function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  let k = key;
  if (k.length > 64) k = createSha256().update(k).digest();
  const ipad = new Uint8Array(64);
  const opad = new Uint8Array(64);
  for (let i = 0; i < 64; i++) {
    const b = k[i] ?? 0;
    ipad[i] = b ^ 0x36;
    opad[i] = b ^ 0x5c;
  }
  const inner = createSha256().update(ipad).update(message).digest();
  return createSha256().update(opad).update(inner).digest();
}

/**
 * Builds a redactor: a key deny-list (case- and separator-insensitive) and value detectors for
 * JWTs, bearer/basic credentials, PEM private keys, cloud access keys and credentials inside URLs
 * (user info and sensitive query parameters). `Error` objects become `{ name, message, code }`
 * with the message redacted; `Date`s become ISO strings; bytes become `"[N bytes]"`; functions,
 * symbols, `undefined` and cycles are dropped or marked. Keys that look like secrets are renamed.
 *
 * @example
 * ```ts
 * import { createRedactor } from '@plumbline/core/audit';
 * const redact = createRedactor();
 * redact({ password: 'hunter2', url: 'https://u:p@example.com/x?token=abc' });
 * // { password: '[REDACTED]', url: 'https://[REDACTED]@example.com/x?token=[REDACTED]' }
 * ```
 * @throws {@link PlumblineError} `PLB_AUDIT_CONFIG` for a limit that is not a positive integer.
 * @public
 */
export function createRedactor(options: RedactionOptions = {}): Redactor {
  const core = createRedactorCore(options);
  return (value) => core.field(value, 0);
}

/**
 * The redactor's walk, for the audit logger: `field(value, depth)` redacts one value found at
 * `depth` (the envelope's own fields are at depth 1), so the logger can build the envelope
 * without an intermediate object.
 *
 * @internal
 */
export interface RedactorCore {
  field(value: unknown, depth: number): unknown;
}

// What is known about a key name: plain (neither secret-looking nor denied), denied, or one that
// itself looks like a secret (renamed).
const KEY_PLAIN = 0;
const KEY_DENIED = 1;
const KEY_SUSPECT = 2;

/** @internal */
export function createRedactorCore(
  options: RedactionOptions = {},
  internal: { readonly hints?: boolean } = {},
): RedactorCore {
  const code = 'PLB_AUDIT_CONFIG';
  const maxDepth = limitOption(options.maxDepth, { name: 'maxDepth', code, fallback: 16 });
  const maxString = limitOption(options.maxStringLength, {
    name: 'maxStringLength',
    code,
    fallback: 8192,
  });
  const maxEntries = limitOption(options.maxEntries, { name: 'maxEntries', code, fallback: 1000 });
  // `hints: false` (tests) runs every replacement on a string that needs any.
  const text = createTextRedactor(options, maxString, internal.hints ?? true);
  return { field: createValueWalker(text, maxDepth, maxEntries) };
}

/** How the redactor treats strings and key names. */
interface TextRedactor {
  /** The string with every secret a detector finds masked (and cut at `maxStringLength`). */
  scrub(text: string): string;
  /** What replaces a secret: `[REDACTED]`, or its keyed fingerprint. */
  mask(secret: string): string;
  /** Whether the deny-list (minus the allow-list) names this key. */
  isDeniedKey(key: string): boolean;
  /** KEY_PLAIN, KEY_DENIED or KEY_SUSPECT. */
  keyKind(key: string): number;
}

function createTextRedactor(
  options: RedactionOptions,
  maxString: number,
  hints: boolean,
): TextRedactor {
  const denied = new Set([...DEFAULT_DENIED_KEYS, ...(options.deniedKeys ?? [])].map(normalizeKey));
  const allowed = new Set((options.allowedKeys ?? []).map(normalizeKey));
  const detectors: readonly Detector[] = [
    ...VALUE_DETECTORS,
    ...(options.patterns ?? []).map((p) => ({
      re: p.global ? p : new RegExp(p.source, `${p.flags}g`),
    })),
  ];
  const fpKey = options.fingerprintKey;
  const fastPath = (options.patterns ?? []).length === 0;
  // Key names seen before (they recur in every event). Only names no detector matched are kept
  // with what the deny-list says of them; a key that itself looks like a secret is never cached.
  const keyCache = new Map<string, number>();

  const mask = (secret: string): string => {
    if (fpKey === undefined) return REDACTED;
    return `[REDACTED:hmac:${toHex(hmacSha256(fpKey, utf8(secret))).slice(0, 16)}]`;
  };

  const isDeniedKey = (key: string): boolean => {
    const n = normalizeKey(key);
    if (allowed.has(n)) return false;
    if (denied.has(n)) return true;
    for (const d of denied) if (d.length >= 4 && n.endsWith(d)) return true;
    return false;
  };

  const keyKind = (key: string): number => {
    const known = keyCache.get(key);
    if (known !== undefined) return known;
    if (scrub(key) !== key) return KEY_SUSPECT;
    const kind = isDeniedKey(key) ? KEY_DENIED : KEY_PLAIN;
    if (key.length <= 256) {
      if (keyCache.size >= 10_000) keyCache.clear();
      keyCache.set(key, kind);
    }
    return kind;
  };

  // Short strings found clean before (node ids, paths, digests recur in every event). Only clean
  // strings are remembered, so the cache never holds a secret.
  const clean = new Set<string>();

  const scrub = (text: string): string => {
    if (text.length <= 256 && clean.has(text)) return text;
    const s = text.length > maxString ? `${text.slice(0, maxString)}…[TRUNCATED]` : text;
    // Fast path: most strings hold nothing that could match.
    if (fastPath && !DETECT.test(s) && !DETECT_CI.test(s)) {
      if (s.length <= 256) {
        if (clean.size >= 4096) clean.clear();
        clean.add(s);
      }
      return s;
    }
    return replaceSecrets(s, hints ? s.toLowerCase() : undefined, detectors, mask);
  };

  return { scrub, mask, isDeniedKey, keyKind };
}

/** Every detector's replacement, in order; with `lower`, those whose hints `lower` lacks are skipped. */
function replaceSecrets(
  text: string,
  lower: string | undefined,
  detectors: readonly Detector[],
  mask: (secret: string) => string,
): string {
  let s = text;
  for (const { re, hints: needs } of detectors) {
    if (!hinted(lower, needs)) continue;
    re.lastIndex = 0;
    s = s.replace(re, (m) => mask(m));
  }
  if (hinted(lower, USERINFO_HINTS)) {
    URL_USERINFO.lastIndex = 0;
    s = s.replace(URL_USERINFO, (m, scheme: string, user: string) =>
      m.includes(':', scheme.length) || user.length > 0 ? `${scheme}${mask(m)}@` : m,
    );
  }
  if (hinted(lower, TEXT_PAIR_HINTS)) {
    TEXT_PAIR.lastIndex = 0;
    s = s.replace(TEXT_PAIR, (m, k: string, sep: string, v: string) =>
      v.startsWith('[REDACTED') || v.startsWith('"[REDACTED') ? m : `${k}${sep}${mask(v)}`,
    );
  }
  if (hinted(lower, URL_PARAM_HINTS)) {
    URL_PARAM.lastIndex = 0;
    s = s.replace(URL_PARAM, (m, sep: string, k: string, v: string) =>
      v.length === 0 || v.startsWith('[REDACTED') || !SENSITIVE_PARAM.test(k)
        ? m
        : `${sep}${k}=${mask(v)}`,
    );
  }
  return s;
}

/** The walk over a value: `walk(value, depth)` returns its redacted copy. */
function createValueWalker(
  text: TextRedactor,
  maxDepth: number,
  maxEntries: number,
): (value: unknown, depth: number) => unknown {
  const { scrub, mask, isDeniedKey, keyKind } = text;
  // The objects being walked, by depth: a value equal to one of them is a cycle.
  const ancestors: object[] = [];

  const object = (obj: object, depth: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    const keys = Object.keys(obj);
    const n = Math.min(keys.length, maxEntries);
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      const raw = (obj as Record<string, unknown>)[key];
      const kind = keyKind(key);
      let safeKey = key;
      if (kind === KEY_SUSPECT) {
        // A key that itself holds a secret: rename it, keeping keys unique.
        safeKey = scrub(key);
        let j = i;
        while (Object.hasOwn(out, `${safeKey}#${j}`)) j++;
        safeKey = `${safeKey}#${j}`;
      }
      if (kind === KEY_DENIED || (kind === KEY_SUSPECT && isDeniedKey(key))) {
        if (raw === undefined || raw === null || raw === '') out[safeKey] = raw ?? null;
        else out[safeKey] = typeof raw === 'string' ? mask(raw) : mask(stableText(raw));
      } else {
        const v = walk(raw, depth + 1);
        if (v !== undefined) out[safeKey] = v;
      }
    }
    if (keys.length > maxEntries) out['[TRUNCATED]'] = `${keys.length - maxEntries} more keys`;
    return out;
  };

  const array = (items: readonly unknown[], depth: number): unknown[] => {
    const out: unknown[] = [];
    const n = Math.min(items.length, maxEntries);
    for (let i = 0; i < n; i++) {
      const v = walk(items[i], depth + 1);
      out.push(v === undefined ? null : v);
    }
    if (items.length > maxEntries) out.push(`[${items.length - maxEntries} more]`);
    return out;
  };

  // An object, array, Error, Map or Set at `depth`, with `obj` kept on the path to it.
  const container = (obj: object, depth: number, plain: boolean): unknown => {
    const saved = ancestors.length;
    ancestors.length = depth + 1;
    for (let i = saved; i < depth; i++) ancestors[i] = EMPTY;
    ancestors[depth] = obj;
    try {
      if (plain) return object(obj, depth);
      if (Array.isArray(obj)) return array(obj, depth);
      if (obj instanceof Error) return errorFields(obj, scrub);
      // A Map or Set stays the ancestor of its entries, so one that holds itself is a cycle.
      if (obj instanceof Map) return object(Object.fromEntries(obj), depth);
      if (obj instanceof Set) return array([...obj], depth);
      return object(obj, depth);
    } finally {
      ancestors[depth] = EMPTY;
    }
  };

  const walk = (value: unknown, depth: number): unknown => {
    switch (typeof value) {
      case 'string':
        return scrub(value);
      case 'number':
        return Number.isFinite(value) ? value : String(value);
      case 'boolean':
        return value;
      case 'bigint':
        return value.toString();
      case 'undefined':
      case 'function':
      case 'symbol':
        return undefined;
    }
    if (value === null) return null;
    const obj = value as object;
    if (depth >= maxDepth) return '[TRUNCATED]';
    for (let i = 0; i < depth && i < ancestors.length; i++) {
      if (ancestors[i] === obj) return '[CIRCULAR]';
    }
    const proto: unknown = Object.getPrototypeOf(obj);
    const plain = proto === Object.prototype || proto === null;
    if (!plain) {
      if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
      if (obj instanceof Uint8Array || obj instanceof ArrayBuffer) {
        return `[${obj.byteLength} bytes]`;
      }
    }
    // Keep the path to this value: ancestors[depth] is the object being walked at that depth.
    return container(obj, depth, plain);
  };

  return walk;
}

/** An `Error` as `{ name, message, code }`, each redacted. */
function errorFields(e: Error & { code?: unknown }, scrub: (text: string) => string): unknown {
  const out: Record<string, unknown> = {
    name: scrub(String(e.name)),
    message: scrub(String(e.message)),
  };
  if (typeof e.code === 'string' || typeof e.code === 'number') out['code'] = scrub(String(e.code));
  return out;
}

const EMPTY: object = Object.freeze({});

function stableText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
