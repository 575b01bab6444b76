import { z } from 'zod';
import { auditDetailSchemas } from './catalogue.js';
import { auditEventSchema } from './envelope.js';

/**
 * The JSON Schema (draft 2020-12) of an audit event: the envelope, plus for every catalogue type
 * an `if type = … then details = …` rule. Committed as `docs/schemas/audit-event.schema.json`.
 *
 * @example
 * ```ts
 * import { auditEventJsonSchema } from '@plumbline/core/audit';
 * const schema = auditEventJsonSchema();
 * ```
 * @public
 */
export function auditEventJsonSchema(): Record<string, unknown> {
  const opts = { target: 'draft-2020-12' } as const;
  const envelope = z.toJSONSchema(auditEventSchema, opts) as Record<string, unknown>;
  const rules = Object.entries(auditDetailSchemas).map(([type, schema]) => {
    const details = z.toJSONSchema(schema, opts) as Record<string, unknown>;
    delete details['$schema'];
    return {
      if: { properties: { type: { const: type } }, required: ['type'] },
      then: { properties: { details } },
    };
  });
  return {
    $schema: envelope['$schema'],
    $id: 'https://plumbline.dev/schemas/audit-event.schema.json',
    title: 'Plumbline audit event',
    description:
      'One audit event (envelope schema_version 1.x). Catalogue types constrain details; other dotted lowercase types keep free-form details.',
    ...Object.fromEntries(Object.entries(envelope).filter(([k]) => k !== '$schema')),
    allOf: rules,
  };
}
