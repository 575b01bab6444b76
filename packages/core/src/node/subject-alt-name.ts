/**
 * One subject alternative name as Node prints it (`URI:spiffe://…`, `DNS:…`, `IP Address:…`).
 *
 * @public
 */
export interface SubjectAltName {
  /** `URI`, `DNS`, `IP Address`, `email`, … */
  readonly type: string;
  /** The name itself, unquoted (such as `spiffe://example.org/ops` or `gw.example`). */
  readonly value: string;
}

/**
 * Parses Node's `subjectaltname` string (from `getPeerCertificate()` or `X509Certificate`),
 * including values Node quotes as JSON strings because they contain separators. Malformed text
 * yields the entries parsed before it.
 *
 * @example
 * ```ts
 * parseSubjectAltNames('DNS:gw.example, URI:spiffe://example.org/ops');
 * // [{ type: 'DNS', value: 'gw.example' }, { type: 'URI', value: 'spiffe://example.org/ops' }]
 * ```
 * @public
 */
export function parseSubjectAltNames(text: string | undefined, limit = 256): SubjectAltName[] {
  const names: SubjectAltName[] = [];
  if (typeof text !== 'string') return names;
  let i = 0;
  while (i < text.length && names.length < limit) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const type = text.slice(i, colon).trim();
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      // JSON-quoted value: find the closing quote that is not escaped.
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) break;
      try {
        value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      } catch {
        break;
      }
      next = text.indexOf(', ', j + 1);
    } else {
      next = text.indexOf(', ', colon + 1);
      value = text.slice(colon + 1, next < 0 ? text.length : next);
    }
    names.push({ type, value });
    if (next < 0) break;
    i = next + 2;
  }
  return names;
}

/**
 * The URI SANs of a certificate's `subjectaltname` string.
 *
 * @internal
 */
export function uriSubjectAltNames(text: string | undefined): string[] {
  return parseSubjectAltNames(text)
    .filter((n) => n.type === 'URI')
    .map((n) => n.value);
}
