import { PlumblineError } from '../errors.js';

// C0 controls, DEL and C1 controls: CR/LF forge lines, ESC/CSI (U+009B) drive terminals, BEL…
// eslint-disable-next-line no-control-regex -- the rule is about control characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex -- the same, for replacing them
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Whether `text` holds a control character (C0, DEL or C1), which no header string may hold.
 *
 * @example
 * ```ts
 * hasControlCharacter('main\r\nverified: yes'); // true
 * ```
 * @internal
 */
export function hasControlCharacter(text: string): boolean {
  return CONTROL.test(text);
}

/** Where a control character was found: the path innermost segment first, and whether in a key. */
interface ControlFound {
  readonly reversedPath: string[];
  readonly inKey: boolean;
}

/**
 * The first string (or map key) under `value` holding a control character. The path is collected
 * on the way back up, so a clean header of millions of items builds no path per item.
 */
function findControl(value: unknown, depth: number): ControlFound | undefined {
  if (typeof value === 'string')
    return CONTROL.test(value) ? { reversedPath: [], inKey: false } : undefined;
  if (value === null || typeof value !== 'object' || depth > 64) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === null || typeof item === 'number' || typeof item === 'boolean') continue;
      const found = findControl(item, depth + 1);
      if (found !== undefined) {
        found.reversedPath.push(String(i));
        return found;
      }
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (CONTROL.test(key)) return { reversedPath: [], inKey: true };
    const found = findControl((value as Record<string, unknown>)[key], depth + 1);
    if (found !== undefined) {
      found.reversedPath.push(key);
      return found;
    }
  }
  return undefined;
}

/** The dotted path of the first string (or map key) under `value` holding a control character. */
function controlPath(value: unknown): string | undefined {
  const found = findControl(value, 0);
  if (found === undefined) return undefined;
  const path = found.reversedPath.reverse().join('.');
  if (!found.inKey) return path;
  return path === '' ? '(a key)' : `${path} (a key)`;
}

/**
 * Refuses a header (being written or read) with a control character in any string or key: such a
 * header is malformed, since a printed CR/LF or escape sequence forges output.
 *
 * @throws {@link PlumblineError} `PLB_HEADER_INVALID` naming the field (never the value).
 * @internal
 */
export function checkHeaderStrings(header: unknown): void {
  const path = controlPath(header);
  if (path === undefined) return;
  // The field's path may itself be hostile text: escape what it holds.
  const safe = path.replace(CONTROLS, '?');
  throw new PlumblineError(
    'PLB_HEADER_INVALID',
    `invalid header at ${safe}: a control character (no header string may hold one)`,
    { details: { path: safe } },
  );
}

// Query, fragment or matrix parameter names that carry credentials (as the audit redactor judges
// URL parameters): access_token, private_token, sig, api_key, X-Amz-Credential, session…
const SENSITIVE_PARAM = /token|secret|password|passwd|pwd|key|sig|auth|credential|session/i;

/**
 * Why a URL-like provenance value would store a credential, or `undefined`: user info (an ssh
 * user name alone is not a credential), or a query, fragment or matrix parameter whose name says
 * it carries one.
 *
 * @example
 * ```ts
 * credentialInUrl('https://h/o/r?access_token=x'); // 'a credential-like parameter (access_token)'
 * ```
 * @internal
 */
export function credentialInUrl(value: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i.exec(value);
  if (scheme !== null) {
    const authority = scheme[2]!;
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      if (!scheme[1]!.toLowerCase().includes('ssh') || userinfo.includes(':')) {
        return 'user info (credentials)';
      }
    }
  }
  for (const match of value.matchAll(/[?&#;]([^=&#;?]{1,64})=/g)) {
    const name = match[1]!;
    if (SENSITIVE_PARAM.test(name)) {
      return `a credential-like parameter (${name.replace(/[^A-Za-z0-9_.-]/g, '?')})`;
    }
  }
  return undefined;
}
