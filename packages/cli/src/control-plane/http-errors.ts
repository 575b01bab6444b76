import { PlumblineError, type PlumblineErrorCode } from '@plumbline/core';

/**
 * The HTTP status of each error code the CLI's HTTP listeners answer with (docs/errors.md). A code
 * not listed is a client error (400) when it names a bad input or a limit, else a server error (500).
 */
const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  PLB_FLEET_API_INVALID: 400,
  PLB_FLEET_API_MALFORMED: 400,
  PLB_MANIFEST_MALFORMED: 400,
  PLB_MANIFEST_FORMAT: 400,
  PLB_MANIFEST_ROOT_MISMATCH: 400,
  PLB_FLEET_UNAUTHORIZED: 401,
  PLB_FLEET_API_NOT_FOUND: 404,
  PLB_FLEET_NODE_UNKNOWN: 404,
  PLB_DASHBOARD_NO_AUDIT_LOG: 404,
  PLB_DASHBOARD_NOT_BUILT: 404,
  PLB_DASHBOARD_MANIFEST_UNKNOWN: 404,
  PLB_FLEET_API_METHOD: 405,
  PLB_STORE_CONFLICT: 409,
  PLB_FLEET_API_TOO_LARGE: 413,
  PLB_MANIFEST_TOO_LARGE: 413,
  PLB_FLEET_API_CONTENT_TYPE: 415,
  PLB_DASHBOARD_BUSY: 503,
  // A store that cannot be reached for now: the client may retry (see `Retry-After`).
  PLB_PG_UNAVAILABLE: 503,
};

/** Seconds a client is asked to wait before retrying a request answered 503. */
const RETRY_AFTER_SECONDS = '5';

/**
 * The HTTP status answering an error with `code`.
 *
 * @internal
 */
export function httpStatusOf(code: string): number {
  return STATUS_OF_CODE[code] ?? (/INVALID|LIMIT|TOO_MANY/.test(code) ? 400 : 500);
}

/**
 * An error of an HTTP listener: a {@link PlumblineError} whose code gives the status. `allow`
 * (for `PLB_FLEET_API_METHOD`) becomes the `Allow` header.
 *
 * @internal
 */
export function httpError(
  code: PlumblineErrorCode,
  message: string,
  details?: Readonly<{ allow: string }>,
): PlumblineError {
  return new PlumblineError(code, message, details === undefined ? {} : { details });
}

/**
 * The response headers an error's code calls for: `WWW-Authenticate` on 401, `Allow` on 405,
 * `Retry-After` on 503.
 *
 * @internal
 */
export function httpErrorHeaders(error: PlumblineError): Record<string, string> {
  const status = httpStatusOf(error.code);
  if (status === 401) return { 'www-authenticate': 'Bearer' };
  if (status === 503) return { 'retry-after': RETRY_AFTER_SECONDS };
  const allow = error.details['allow'];
  if (status === 405 && typeof allow === 'string') return { allow };
  return {};
}
