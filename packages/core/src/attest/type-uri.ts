/**
 * SLSA's `TypeURI` (and in-toto's `ResourceURI`): an RFC 3986 URI with a scheme. The header's
 * builder id may be any text; a statement's `runDetails.builder.id` must be a URI.
 */

/** scheme ":" then URI characters only (unreserved, reserved, well-formed percent escapes). @internal */
export const TYPE_URI_PATTERN =
  /^[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;

/** The URN namespace of builder ids that are not URIs themselves. @public */
export const BUILDER_ID_URN_PREFIX = 'urn:plumbline:builder:';

/**
 * Whether a string is a URI as SLSA's `TypeURI` requires: a scheme, then only URI characters
 * (no spaces, no control characters, percent escapes well formed).
 *
 * @example
 * ```ts
 * isTypeUri('https://github.com/acme/gateway/.github/workflows/seal.yml'); // true
 * isTypeUri('@plumbline/cli'); // false
 * ```
 * @public
 */
export function isTypeUri(text: string): boolean {
  return text.length <= 4096 && TYPE_URI_PATTERN.test(text);
}

/**
 * The SLSA builder id of a header's builder: the id itself when it is a URI, otherwise a URN in
 * Plumbline's namespace carrying the id percent-encoded (`@plumbline/cli` becomes
 * `urn:plumbline:builder:%40plumbline%2Fcli`), so the statement names exactly the builder the
 * header names, as a valid `TypeURI`.
 *
 * @example
 * ```ts
 * builderIdUri('@plumbline/cli'); // 'urn:plumbline:builder:%40plumbline%2Fcli'
 * ```
 * @public
 */
export function builderIdUri(id: string): string {
  return isTypeUri(id) ? id : `${BUILDER_ID_URN_PREFIX}${encodeURIComponent(id)}`;
}
