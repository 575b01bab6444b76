import { z } from 'zod';

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

const headerValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([
    z.null(),
    z.boolean(),
    z.int(),
    z.string(),
    z.array(headerValue),
    z.record(z.string(), headerValue),
  ]),
);

/**
 * zod schema of a manifest entry inside the header (unknown fields are kept).
 *
 * @public
 */
export const headerEntrySchema = z.looseObject({
  path: z.string().min(1),
  size: z.int().min(0),
  digest: z.string().regex(DIGEST),
  role: z.enum(['spec', 'config', 'plugin', 'other']).optional(),
  media_type: z.string().optional(),
});

/**
 * zod schema of the provenance header v1 (structure and value shapes; unknown fields are kept).
 * Semantic checks (paths, root consistency, provenance values) are in `checkHeader`
 * and `createHeader`.
 *
 * @public
 */
export const headerSchema = z
  .looseObject({
    format: z.string().regex(/^plumbline\.header\/v1(\.\d+)?$/),
    artifact_hash: z.string().regex(DIGEST),
    hash_alg: z.literal('sha256'),
    build_timestamp: z.string().regex(TIMESTAMP),
    provenance: z.looseObject({
      commit: z
        .string()
        .regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/)
        .optional(),
      source: z.string().min(1).optional(),
      ref: z.string().min(1).optional(),
      builder: z.looseObject({ id: z.string().min(1), version: z.string().min(1) }),
      build_url: z.string().min(1).optional(),
    }),
    inputs: z.array(headerEntrySchema),
    payload: z.looseObject({
      digest: z.string().regex(DIGEST),
      size: z.int().min(0),
      media_type: z.string().min(1),
    }),
    extensions: z.record(z.string().regex(/^[a-z][a-z0-9-]*(\.[A-Za-z0-9_-]+)+$/), headerValue),
  })
  .meta({
    $id: 'https://plumbline.dev/schemas/header.schema.json',
    title: 'Plumbline provenance header v1',
    description:
      'The provenance header (plumbline.header/v1), encoded as deterministic CBOR (RFC 8949 §4.2.1) in an artifact container. Unknown fields of the same major version are kept by readers.',
  });

/**
 * The JSON Schema (draft 2020-12) of the header, generated from {@link headerSchema}; committed as
 * `docs/schemas/header.schema.json`.
 *
 * @example
 * ```ts
 * const schema = headerJsonSchema();
 * console.log(schema.title);
 * ```
 * @public
 */
export function headerJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(headerSchema, { target: 'draft-2020-12' }) as Record<string, unknown>;
}
