/**
 * Plain-English text for a zod issue. The `zod/mini` schemas of the verify path carry no locale
 * (their own message is only "Invalid input"), so errors describe issues from their fields.
 */

/** The fields of a zod issue this module reads. @internal */
export interface SchemaIssue {
  readonly code: string;
  readonly message: string;
  readonly expected?: unknown;
  readonly format?: string;
  readonly pattern?: string;
  readonly origin?: string;
  readonly minimum?: unknown;
  readonly maximum?: unknown;
  readonly values?: readonly unknown[];
  readonly keys?: readonly string[];
}

/**
 * Describes a zod issue in words, whichever zod build produced it.
 *
 * @example
 * ```ts
 * describeIssue({ code: 'invalid_format', format: 'regex', pattern: '/^a$/', message: 'Invalid input' });
 * // 'must match the pattern /^a$/'
 * ```
 * @internal
 */
export function describeIssue(issue: SchemaIssue): string {
  const what = issue.origin === 'array' ? 'items' : issue.origin === 'string' ? 'characters' : '';
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${String(issue.expected)}`;
    case 'invalid_format':
      return issue.pattern !== undefined
        ? `must match the pattern ${issue.pattern}`
        : `expected the ${String(issue.format)} format`;
    case 'too_small':
      return `too small: at least ${String(issue.minimum)}${what ? ` ${what}` : ''}`;
    case 'too_big':
      return `too big: at most ${String(issue.maximum)}${what ? ` ${what}` : ''}`;
    case 'invalid_value':
      return `expected one of ${(issue.values ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown field(s) ${(issue.keys ?? []).join(', ')}`;
    default:
      return issue.message;
  }
}
