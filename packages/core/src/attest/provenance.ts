import { z } from 'zod';
import { PlumblineError } from '../errors.js';
import type { DigestString } from '../hash/digest.js';
import { isDigestString } from '../hash/digest.js';
import type { ProvenanceHeader } from '../header/types.js';
import {
  ARTIFACT_HASH_DIGEST_KEY,
  HEADER_DIGEST_ANNOTATION,
  IN_TOTO_STATEMENT_TYPE,
  resourceDescriptorSchema,
  statementSchema,
  type ResourceDescriptor,
  type Statement,
} from './statement.js';
import { builderIdUri, isTypeUri, TYPE_URI_PATTERN } from './type-uri.js';

/** The SLSA Provenance v1 predicate type. @public */
export const SLSA_PROVENANCE_PREDICATE_TYPE = 'https://slsa.dev/provenance/v1';

/**
 * The SLSA `buildType` of a Plumbline-sealed gateway configuration. Its parameters are
 * documented in `docs/attestations.md`: `externalParameters` = `{ source, ref }` of the
 * provenance header; `internalParameters` = `{ header_format, hash_alg, build_timestamp,
 * payload }`; `resolvedDependencies` = every manifest input (name = path, digest = sha256,
 * annotations role/size), then the source commit (digest `gitCommit`).
 *
 * @public
 */
export const PLUMBLINE_BUILD_TYPE = 'https://plumbline.dev/attestations/sealed-config/v1';

const typeUri = z.string().max(4096).regex(TYPE_URI_PATTERN, 'a URI (SLSA TypeURI)');

const rfc3339 = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/);

/**
 * zod schema of the SLSA Provenance v1 predicate (unknown fields kept).
 *
 * @public
 */
export const slsaProvenanceSchema = z.looseObject({
  buildDefinition: z.looseObject({
    buildType: typeUri,
    externalParameters: z.record(z.string(), z.unknown()),
    internalParameters: z.record(z.string(), z.unknown()).optional(),
    resolvedDependencies: z.array(resourceDescriptorSchema).optional(),
  }),
  runDetails: z.looseObject({
    builder: z.looseObject({
      id: typeUri,
      version: z.record(z.string(), z.string()).optional(),
      builderDependencies: z.array(resourceDescriptorSchema).optional(),
    }),
    metadata: z
      .looseObject({
        invocationId: z.string().optional(),
        startedOn: rfc3339.optional(),
        finishedOn: rfc3339.optional(),
      })
      .optional(),
    byproducts: z.array(resourceDescriptorSchema).optional(),
  }),
});

/**
 * zod schema of an in-toto Statement v1 carrying a SLSA Provenance v1 predicate.
 *
 * @public
 */
export const slsaProvenanceStatementSchema = statementSchema.extend({
  predicateType: z.literal(SLSA_PROVENANCE_PREDICATE_TYPE),
  predicate: slsaProvenanceSchema,
});

/**
 * The SLSA Provenance v1 predicate.
 *
 * @public
 */
export interface SlsaProvenance {
  /** What the build was: its type URI, its parameters and the dependencies it resolved. */
  readonly buildDefinition: {
    readonly buildType: string;
    readonly externalParameters: Readonly<Record<string, unknown>>;
    readonly internalParameters?: Readonly<Record<string, unknown>>;
    readonly resolvedDependencies?: readonly ResourceDescriptor[];
  };
  /** How the build ran: the builder's id and version, invocation metadata, and byproducts. */
  readonly runDetails: {
    readonly builder: {
      readonly id: string;
      readonly version?: Readonly<Record<string, string>>;
      readonly builderDependencies?: readonly ResourceDescriptor[];
    };
    readonly metadata?: {
      readonly invocationId?: string;
      readonly startedOn?: string;
      readonly finishedOn?: string;
    };
    readonly byproducts?: readonly ResourceDescriptor[];
  };
}

/**
 * Options for {@link buildProvenanceStatement}.
 *
 * @public
 */
export interface ProvenanceStatementOptions {
  /** The artifact's provenance header. */
  readonly header: ProvenanceHeader;
  /** The artifact digest: SHA-256 of the container with an empty attachments section. */
  readonly artifactDigest: DigestString;
  /** SHA-256 of the encoded header: recorded as a subject annotation so verifiers can name a changed header. */
  readonly headerDigest?: DigestString;
  /** The subject's name, usually the artifact's file name (default `artifact`). */
  readonly subjectName?: string;
  /**
   * The SLSA builder id, a URI (`TypeURI`). Default: the header's `provenance.builder.id` when it
   * is a URI, otherwise that id as a `urn:plumbline:builder:` URN (see `builderIdUri`).
   */
  readonly builderId?: string;
  /** The build invocation id, such as a CI run URL (default: the header's `build_url`, if any). */
  readonly invocationId?: string;
  /** When the build started (RFC 3339; default: the header's `build_timestamp`). */
  readonly startedOn?: string;
  /** When the build finished (RFC 3339; default: the header's `build_timestamp`). */
  readonly finishedOn?: string;
}

function gitUri(source: string, ref: string | undefined): string {
  const base = /^[a-z][a-z0-9+.-]*:\/\//i.test(source) ? source : `https://github.com/${source}`;
  const withScheme = base.startsWith('git+') ? base : `git+${base}`;
  return ref ? `${withScheme}@${ref}` : withScheme;
}

/**
 * Builds the in-toto Statement v1 with a SLSA Provenance v1 predicate for an artifact. The
 * subject is the artifact (`sha256` = the artifact digest, {@link ARTIFACT_HASH_DIGEST_KEY} = the
 * configuration's `artifact_hash`); the predicate lists every input as a resolved dependency.
 * Equal inputs give equal statements (no clock is read).
 *
 * @example
 * ```ts
 * import { buildProvenanceStatement, encodeStatement } from '@plumbline/core/attest';
 * const statement = buildProvenanceStatement({ header, artifactDigest, subjectName: 'gateway.plb' });
 * process.stdout.write(new TextDecoder().decode(encodeStatement(statement)));
 * ```
 * @throws {@link PlumblineError} `PLB_BUILDER_ID_NOT_URI` when `builderId` is given and is not a
 *   URI; `PLB_ATTESTATION_MALFORMED` when the header or options do not give a valid statement (a
 *   bad digest, a time that is not RFC 3339).
 * @public
 */
export function buildProvenanceStatement(
  options: ProvenanceStatementOptions,
): Statement<SlsaProvenance> {
  const { header } = options;
  if (
    !isDigestString(options.artifactDigest) ||
    !isDigestString(header.artifact_hash) ||
    (options.headerDigest !== undefined && !isDigestString(options.headerDigest))
  ) {
    throw new PlumblineError(
      'PLB_ATTESTATION_MALFORMED',
      'the artifact digest and artifact_hash must be sha256 digest strings',
    );
  }
  if (options.builderId !== undefined && !isTypeUri(options.builderId)) {
    throw new PlumblineError(
      'PLB_BUILDER_ID_NOT_URI',
      'the builder id must be a URI (SLSA TypeURI), such as https://github.com/acme/gateway/.github/workflows/seal.yml',
      { details: { field: 'builderId' } },
    );
  }
  const provenance = header.provenance;
  const externalParameters: Record<string, unknown> = {};
  if (provenance.source !== undefined) externalParameters.source = provenance.source;
  if (provenance.ref !== undefined) externalParameters.ref = provenance.ref;

  const resolvedDependencies: ResourceDescriptor[] = header.inputs.map((entry) => {
    const annotations: Record<string, unknown> = { size: entry.size };
    if (entry.role !== undefined) annotations.role = entry.role;
    return {
      name: entry.path,
      digest: { sha256: entry.digest.slice(7) },
      ...(entry.media_type === undefined ? {} : { mediaType: entry.media_type }),
      annotations,
    };
  });
  if (provenance.commit !== undefined) {
    resolvedDependencies.push({
      ...(provenance.source === undefined
        ? {}
        : { uri: gitUri(provenance.source, provenance.ref) }),
      digest: { gitCommit: provenance.commit },
    });
  }

  const invocationId = options.invocationId ?? provenance.build_url;
  const predicate: SlsaProvenance = {
    buildDefinition: {
      buildType: PLUMBLINE_BUILD_TYPE,
      externalParameters,
      internalParameters: {
        header_format: header.format,
        hash_alg: header.hash_alg,
        build_timestamp: header.build_timestamp,
        payload: { ...header.payload },
      },
      resolvedDependencies,
    },
    runDetails: {
      builder: {
        id: options.builderId ?? builderIdUri(provenance.builder.id),
        version: { [provenance.builder.id]: provenance.builder.version },
      },
      metadata: {
        ...(invocationId === undefined ? {} : { invocationId }),
        startedOn: options.startedOn ?? header.build_timestamp,
        finishedOn: options.finishedOn ?? header.build_timestamp,
      },
    },
  };
  const statement = {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [
      {
        name: options.subjectName ?? 'artifact',
        digest: {
          sha256: options.artifactDigest.slice(7),
          [ARTIFACT_HASH_DIGEST_KEY]: header.artifact_hash.slice(7),
        },
        ...(options.headerDigest === undefined
          ? {}
          : { annotations: { [HEADER_DIGEST_ANNOTATION]: options.headerDigest } }),
      },
    ],
    predicateType: SLSA_PROVENANCE_PREDICATE_TYPE,
    predicate,
  } as const;
  const checked = slsaProvenanceStatementSchema.safeParse(statement);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new PlumblineError(
      'PLB_ATTESTATION_MALFORMED',
      `the provenance statement would be invalid at ${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}`,
      { details: { path: issue?.path.map(String) ?? [] } },
    );
  }
  return statement;
}

/**
 * Validates a statement as a SLSA Provenance v1 statement and returns it typed.
 *
 * @example
 * ```ts
 * const provenance = toProvenanceStatement(parseStatement(bytes)).predicate;
 * ```
 * @throws {@link PlumblineError} `PLB_ATTESTATION_MALFORMED` for another predicate type or an
 *   invalid predicate.
 * @public
 */
export function toProvenanceStatement(statement: Statement<unknown>): Statement<SlsaProvenance> {
  const result = slsaProvenanceStatementSchema.safeParse(statement);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new PlumblineError(
      'PLB_ATTESTATION_MALFORMED',
      `not a SLSA Provenance v1 statement at ${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}`,
      { details: { path: issue?.path.map(String) ?? [] } },
    );
  }
  return result.data as unknown as Statement<SlsaProvenance>;
}
