import { z } from 'zod';
import { PlumblineError } from '../errors.js';
import { utf8 } from '../encoding/utf8.js';

/** The in-toto Statement v1 type URI. @public */
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/**
 * The digest-set key under which a statement subject carries the configuration's
 * `artifact_hash` (the RFC 9162 Merkle root over the inputs, docs/formats.md), as lowercase hex. The
 * `sha256` key of the same subject is the artifact digest (the file's SHA-256 with an empty
 * attachments section).
 *
 * @public
 */
export const ARTIFACT_HASH_DIGEST_KEY = 'plumbline-merkle-sha256';

/**
 * The subject annotation that carries the SHA-256 of the artifact's encoded header
 * (`sha256:…`), so a verifier can tell a changed header from a changed payload.
 *
 * @public
 */
export const HEADER_DIGEST_ANNOTATION = 'dev.plumbline.header_digest';

const hex = (length?: number) =>
  length === undefined
    ? z.string().regex(/^(?:[0-9a-f]{2})+$/)
    : z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`));

/**
 * An in-toto DigestSet: algorithm name to lowercase hex (`sha256` is always 64 hex characters).
 *
 * @public
 */
export const digestSetSchema = z
  .record(z.string().min(1).max(64), z.string().min(1).max(1024))
  .superRefine((set, ctx) => {
    if (Object.keys(set).length === 0)
      ctx.addIssue({ code: 'custom', message: 'a digest set is not empty' });
    for (const [key, value] of Object.entries(set)) {
      const check =
        key === 'sha256' || key === ARTIFACT_HASH_DIGEST_KEY
          ? hex(64)
          : key === 'gitCommit'
            ? z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/)
            : hex();
      if (!check.safeParse(value).success) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `"${key}" is not a lowercase hex digest of the right length`,
        });
      }
    }
  });

/**
 * An in-toto v1 ResourceDescriptor (subjects, resolved dependencies, byproducts).
 *
 * @public
 */
export const resourceDescriptorSchema = z
  .looseObject({
    name: z.string().max(4096).optional(),
    uri: z.string().max(4096).optional(),
    digest: digestSetSchema.optional(),
    content: z.string().optional(),
    downloadLocation: z.string().max(4096).optional(),
    mediaType: z.string().max(255).optional(),
    annotations: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((r) => r.uri !== undefined || r.digest !== undefined || r.content !== undefined, {
    message: 'a resource descriptor has a uri, a digest or content',
  });

/**
 * An in-toto Statement v1 with any predicate.
 *
 * @public
 */
export const statementSchema = z.looseObject({
  _type: z.literal(IN_TOTO_STATEMENT_TYPE),
  subject: z
    .array(
      resourceDescriptorSchema.refine((r) => r.digest !== undefined, {
        message: 'a statement subject has a digest',
      }),
    )
    .min(1),
  predicateType: z.string().min(1).max(4096),
  predicate: z.record(z.string(), z.unknown()).optional(),
});

/**
 * An in-toto v1 ResourceDescriptor.
 *
 * @public
 */
export interface ResourceDescriptor {
  /** A name for the resource, such as the artifact's file name. */
  readonly name?: string;
  /** A URI identifying the resource. */
  readonly uri?: string;
  /**
   * A DigestSet: algorithm name to lowercase hex (`sha256`, {@link ARTIFACT_HASH_DIGEST_KEY}, …).
   * Always present on a statement subject.
   */
  readonly digest?: Readonly<Record<string, string>>;
  /** The resource's contents inline (base64 in in-toto JSON). */
  readonly content?: string;
  /** A URI the resource can be downloaded from. */
  readonly downloadLocation?: string;
  /** The resource's media type (MIME type). */
  readonly mediaType?: string;
  /** Extra information about the resource, such as {@link HEADER_DIGEST_ANNOTATION}. */
  readonly annotations?: Readonly<Record<string, unknown>>;
}

/**
 * An in-toto Statement v1.
 *
 * @public
 */
export interface Statement<P = Record<string, unknown>> {
  /** Always {@link IN_TOTO_STATEMENT_TYPE}. */
  readonly _type: typeof IN_TOTO_STATEMENT_TYPE;
  /** What the statement is about: at least one descriptor, each with a `digest`. */
  readonly subject: readonly ResourceDescriptor[];
  /** URI naming the predicate's type, such as the SLSA Provenance v1 type URI. */
  readonly predicateType: string;
  /** The predicate, whose shape `predicateType` names; absent when the statement has none. */
  readonly predicate?: P;
}

/**
 * Limits for reading statements, each with a finite default.
 *
 * @public
 */
export interface StatementLimits {
  /** Largest statement JSON in bytes (default 32 MiB). */
  readonly maxBytes?: number;
  /** Most subjects (default 1024). */
  readonly maxSubjects?: number;
}

/**
 * Parses and validates in-toto Statement v1 JSON bytes (any predicate; unknown fields kept).
 *
 * @example
 * ```ts
 * const statement = parseStatement(verification.payload);
 * statement.subject[0]?.digest?.sha256;
 * ```
 * @throws {@link PlumblineError} `PLB_ATTESTATION_TOO_LARGE` beyond a limit,
 *   `PLB_ATTESTATION_MALFORMED` for anything that is not a Statement v1.
 * @public
 */
export function parseStatement(bytes: Uint8Array, limits: StatementLimits = {}): Statement {
  const maxBytes = limits.maxBytes ?? 32 * 1024 * 1024;
  const maxSubjects = limits.maxSubjects ?? 1024;
  if (bytes.length > maxBytes) {
    throw new PlumblineError(
      'PLB_ATTESTATION_TOO_LARGE',
      `the statement is larger than ${maxBytes} bytes`,
      {
        details: { size: bytes.length, maxBytes },
      },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new PlumblineError('PLB_ATTESTATION_MALFORMED', 'the statement is not JSON', {
      cause: error,
    });
  }
  return toStatement(value, { maxSubjects });
}

/**
 * Validates a parsed value as an in-toto Statement v1.
 *
 * @example
 * ```ts
 * const statement = toStatement(JSON.parse(text));
 * ```
 * @throws {@link PlumblineError} `PLB_ATTESTATION_MALFORMED`, `PLB_ATTESTATION_TOO_LARGE`.
 * @public
 */
export function toStatement(
  value: unknown,
  limits: Pick<StatementLimits, 'maxSubjects'> = {},
): Statement {
  const maxSubjects = limits.maxSubjects ?? 1024;
  const subjects = (value as { subject?: unknown } | null)?.subject;
  if (Array.isArray(subjects) && subjects.length > maxSubjects) {
    throw new PlumblineError(
      'PLB_ATTESTATION_TOO_LARGE',
      `the statement has more than ${maxSubjects} subjects`,
      {
        details: { count: subjects.length, maxSubjects },
      },
    );
  }
  const result = statementSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new PlumblineError(
      'PLB_ATTESTATION_MALFORMED',
      `not an in-toto Statement v1${where}: ${issue?.message ?? 'invalid'}`,
      {
        details: { path: issue?.path.map(String) ?? [] },
      },
    );
  }
  return result.data as Statement;
}

/**
 * Encodes a statement as compact JSON bytes (the DSSE payload). Key order is the order the
 * builders create, so equal inputs give equal bytes.
 *
 * @example
 * ```ts
 * const payload = encodeStatement(statement);
 * ```
 * @public
 */
export function encodeStatement(statement: Statement<unknown>): Uint8Array {
  return utf8(JSON.stringify(statement));
}

/**
 * What {@link checkStatementSubject} compares.
 *
 * @public
 */
export interface StatementSubjectExpectation {
  /** The artifact digest (`sha256:…`): must equal a subject's `sha256`. */
  readonly artifactDigest: string;
  /** The configuration's manifest root: when the matching subject carries {@link ARTIFACT_HASH_DIGEST_KEY}, it must be equal. */
  readonly artifactHash?: string;
  /** SHA-256 of the encoded header, to name what changed when the digest differs. */
  readonly headerDigest?: string;
}

/**
 * Checks that a statement names the artifact: some subject's `sha256` equals the artifact
 * digest, and if that subject also carries the `artifact_hash` digest key, it matches too.
 * Returns `undefined` when it does, otherwise a coded reason.
 *
 * @example
 * ```ts
 * const problem = checkStatementSubject(statement, { artifactDigest, artifactHash });
 * if (problem) console.error(problem.code, problem.reason);
 * ```
 * @public
 */
export function checkStatementSubject(
  statement: Statement<unknown>,
  expected: StatementSubjectExpectation,
):
  | {
      readonly code:
        | 'PLB_ATTESTATION_SUBJECT_MISMATCH'
        | 'PLB_ATTESTATION_ARTIFACT_HASH_MISMATCH'
        | 'PLB_ATTESTATION_HEADER_MISMATCH'
        | 'PLB_ATTESTATION_PAYLOAD_MISMATCH';
      readonly reason: string;
    }
  | undefined {
  const want = expected.artifactDigest.replace(/^sha256:/, '');
  const wantMerkle = expected.artifactHash?.replace(/^sha256:/, '');
  const subject = statement.subject.find((s) => s.digest?.sha256 === want);
  if (!subject) {
    // Name what changed when the statement is about one artifact that is almost this one.
    const only = statement.subject.length === 1 ? statement.subject[0] : undefined;
    const signedHeader = only?.annotations?.[HEADER_DIGEST_ANNOTATION];
    if (only && expected.headerDigest !== undefined && signedHeader === expected.headerDigest) {
      return {
        code: 'PLB_ATTESTATION_PAYLOAD_MISMATCH',
        reason:
          'the artifact differs from the signed one outside its header: the payload was changed',
      };
    }
    if (
      only &&
      wantMerkle !== undefined &&
      only.digest?.[ARTIFACT_HASH_DIGEST_KEY] === wantMerkle &&
      signedHeader !== undefined
    ) {
      return {
        code: 'PLB_ATTESTATION_HEADER_MISMATCH',
        reason: 'the artifact header differs from the signed one (same inputs, changed provenance)',
      };
    }
    return {
      code: 'PLB_ATTESTATION_SUBJECT_MISMATCH',
      reason: `the signed statement is about another artifact (no subject has sha256 ${want.slice(0, 12)}…)`,
    };
  }
  const merkle = subject.digest?.[ARTIFACT_HASH_DIGEST_KEY];
  if (merkle !== undefined && wantMerkle !== undefined && merkle !== wantMerkle) {
    return {
      code: 'PLB_ATTESTATION_ARTIFACT_HASH_MISMATCH',
      reason: "the statement's artifact_hash differs from the artifact header's",
    };
  }
  return undefined;
}
