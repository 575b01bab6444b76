/** The token of an `Authorization: Bearer` header (test helper). */
export function bearerTokenForTest(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer (\S+)$/i.exec(header);
  return match ? match[1] : undefined;
}
