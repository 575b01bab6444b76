import { PlumblineError } from '@plumbline/core';

/**
 * A parsed SPIFFE ID (`spiffe://<trust-domain>/<path>`).
 *
 * @public
 */
export interface SpiffeId {
  /** The whole ID as it appeared in the certificate. */
  readonly id: string;
  /** The trust domain, lowercase. */
  readonly trustDomain: string;
  /** The path segments (without empty segments). */
  readonly segments: readonly string[];
}

/** The longest SPIFFE ID accepted (the SPIFFE specification's limit). */
const MAX_SPIFFE_ID_BYTES = 2048;
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * Parses a SPIFFE ID following the SPIFFE ID specification: scheme `spiffe`, a lowercase trust
 * domain of `[a-z0-9._-]`, path segments of `[A-Za-z0-9._-]` that are neither empty nor `.`/`..`,
 * no query, fragment, port or user info, at most 2048 bytes.
 *
 * @example
 * ```ts
 * import { parseSpiffeId } from '@plumbline/ws';
 * parseSpiffeId('spiffe://example.org/cluster/prod-eu/node/gw-1').segments; // ['cluster', 'prod-eu', 'node', 'gw-1']
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_WS_SPIFFE_INVALID` when the text is not a valid SPIFFE ID.
 * @public
 */
export function parseSpiffeId(text: string): SpiffeId {
  const invalid = (why: string): PlumblineError =>
    new PlumblineError('PLB_WS_SPIFFE_INVALID', `not a valid SPIFFE ID: ${why}`);
  if (Buffer.byteLength(text, 'utf8') > MAX_SPIFFE_ID_BYTES)
    throw invalid('longer than 2048 bytes');
  if (!text.startsWith('spiffe://')) throw invalid('scheme is not spiffe');
  const rest = text.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash + 1);
  if (trustDomain.length === 0 || !TRUST_DOMAIN.test(trustDomain)) {
    throw invalid('trust domain must be non-empty lowercase [a-z0-9._-]');
  }
  const segments = path === '' ? [] : path.split('/');
  if (slash !== -1 && path === '') throw invalid('trailing slash');
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..' || !SEGMENT.test(segment)) {
      throw invalid('path segments must be non-empty [A-Za-z0-9._-] and not . or ..');
    }
  }
  return { id: text, trustDomain, segments };
}

/**
 * The URI subject alternative names of a certificate, from Node's `subjectaltname` string
 * (`'URI:spiffe://a/b, DNS:x'`).
 *
 * @internal
 */
export function uriSans(subjectaltname: string | undefined): string[] {
  if (!subjectaltname) return [];
  const out: string[] = [];
  // Node quotes names containing a comma or quote as JSON strings: URI:"spiffe://..."
  const re = /(?:^|,\s*)([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  let match: RegExpExecArray | null;
  while ((match = re.exec(subjectaltname)) !== null) {
    const kind = match[1]!.trim();
    let value = match[2]!;
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        continue;
      }
    }
    if (kind === 'URI') out.push(value.trim());
  }
  return out;
}
