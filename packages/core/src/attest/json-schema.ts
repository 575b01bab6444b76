import { z } from 'zod';
import { slsaProvenanceStatementSchema } from './provenance.js';
import { statementSchema } from './statement.js';

/**
 * JSON Schemas (draft 2020-12) generated from the zod schemas, by file name. The committed copies
 * in `docs/schemas/` are checked against these by a test.
 *
 * @example
 * ```ts
 * const schemas = attestationJsonSchemas();
 * Object.keys(schemas); // ['in-toto-statement.v1.schema.json', 'slsa-provenance.v1.schema.json']
 * ```
 * @public
 */
export function attestationJsonSchemas(): Record<string, Record<string, unknown>> {
  const toSchema = (schema: z.ZodType, id: string, title: string) => ({
    $id: `https://plumbline.dev/schemas/${id}`,
    title,
    ...(z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io: 'input',
      unrepresentable: 'any',
    }) as Record<string, unknown>),
  });
  return {
    'in-toto-statement.v1.schema.json': toSchema(
      statementSchema,
      'in-toto-statement.v1.schema.json',
      'in-toto Statement v1',
    ),
    'slsa-provenance.v1.schema.json': toSchema(
      slsaProvenanceStatementSchema,
      'slsa-provenance.v1.schema.json',
      'in-toto Statement v1 with a SLSA Provenance v1 predicate (Plumbline)',
    ),
  };
}
