/**
 * Headers every admin response carries.
 *
 * @internal
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
});

const bodies = new WeakMap<Response, Uint8Array>();

/**
 * The exact body bytes of a response the admin handler built, so a Node listener can write them
 * without reading the response stream. `undefined` for any other response.
 *
 * @internal
 */
export function bodyBytesOf(response: Response): Uint8Array | undefined {
  return bodies.get(response);
}

/**
 * Builds a response from prepared headers (security headers, content type and length already in
 * them) and remembers its body bytes for {@link bodyBytesOf}. For `HEAD` and 304 no body is sent.
 *
 * @internal
 */
export function bytesResponse(
  status: number,
  body: Uint8Array | undefined,
  headers: Readonly<Record<string, string>>,
  head: boolean,
): Response {
  const send = body !== undefined && !head && status !== 304;
  const response = new Response(send ? (body as Uint8Array<ArrayBuffer>) : null, {
    status,
    headers,
  });
  bodies.set(response, send ? body : new Uint8Array(0));
  return response;
}
