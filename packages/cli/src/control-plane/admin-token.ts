import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Checks `Authorization: Bearer <token>` against the admin token in constant time (both sides are
 * hashed to 32 bytes first, so neither length nor content leaks through timing).
 *
 * @internal
 */
export function createAdminTokenCheck(
  token: string,
): (authorization: string | null | undefined) => boolean {
  const expected = createHash('sha256').update(token, 'utf8').digest();
  return (authorization) => {
    const match =
      typeof authorization === 'string'
        ? /^Bearer[ \t]+(\S{1,4096})[ \t]*$/i.exec(authorization)
        : null;
    const presented = createHash('sha256')
      .update(match ? match[1]! : '', 'utf8')
      .digest();
    return timingSafeEqual(expected, presented) && match !== null;
  };
}
