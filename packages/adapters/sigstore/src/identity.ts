import { PlumblineError } from '@plumbline/core';

/**
 * Who may have signed a keyless bundle: the certificate's identity (its subject alternative
 * name: an email, a workflow URI) and the OIDC issuer that vouched for it. Strings match exactly;
 * regular expressions must match the whole value (they are anchored).
 *
 * @public
 */
export interface IdentityPolicy {
  /** The signing certificate's subject alternative name (an email, a workflow URI). */
  readonly subjectAlternativeName: string | RegExp;
  /** The OIDC issuer recorded in the certificate (`https://token.actions.githubusercontent.com`). */
  readonly issuer: string | RegExp;
}

function matches(expected: string | RegExp, actual: string | undefined): boolean {
  if (actual === undefined) return false;
  if (typeof expected === 'string') return expected === actual;
  const anchored = new RegExp(`^(?:${expected.source})$`, expected.flags.replace(/[gy]/g, ''));
  return anchored.test(actual);
}

/**
 * Whether a certificate identity satisfies one of the policies; returns the failure reason or `undefined`.
 *
 * @internal
 */
export function checkIdentity(
  policies: readonly IdentityPolicy[],
  identity: { subjectAlternativeName?: string; issuer?: string },
): string | undefined {
  if (
    policies.some(
      (p) =>
        matches(p.subjectAlternativeName, identity.subjectAlternativeName) &&
        matches(p.issuer, identity.issuer),
    )
  ) {
    return undefined;
  }
  const san = identity.subjectAlternativeName ?? '(none)';
  const iss = identity.issuer ?? '(none)';
  const identityOk = policies.some((p) =>
    matches(p.subjectAlternativeName, identity.subjectAlternativeName),
  );
  return identityOk
    ? `the certificate's OIDC issuer "${iss.slice(0, 200)}" is not the expected one`
    : `the certificate identity "${san.slice(0, 200)}" is not the expected one`;
}

/**
 * Checks policies at configuration time.
 *
 * @internal
 */
export function checkPolicies(policies: readonly IdentityPolicy[]): void {
  for (const policy of policies) {
    for (const field of ['subjectAlternativeName', 'issuer'] as const) {
      const value = policy[field];
      if (!(value instanceof RegExp) && (typeof value !== 'string' || value.length === 0)) {
        throw new PlumblineError(
          'PLB_VERIFIER_CONFIG',
          `an identity policy needs a non-empty ${field}`,
        );
      }
    }
  }
}
