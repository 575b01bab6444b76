import { readFileSync, writeFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';
import { manifestJsonSchema } from '@plumbline/core/manifest';

const schemaFile = new URL('../../../../docs/schemas/manifest.schema.json', import.meta.url);
const golden = new URL('../golden/gateway-config.manifest.json', import.meta.url);

describe('manifest JSON Schema', () => {
  it('is committed as docs/schemas/manifest.schema.json exactly as generated from zod', async () => {
    // Committed as the repository's formatter writes JSON, so `prettier --check` stays clean.
    const path = schemaFile.pathname;
    const generated = await format(JSON.stringify(manifestJsonSchema()), {
      ...(await resolveConfig(path)),
      filepath: path,
    });
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(schemaFile, generated);
    expect(readFileSync(schemaFile, 'utf8')).toBe(generated);
  });

  it('accepts the golden manifest and refuses an unknown field', () => {
    const ajv = new Ajv2020({ strict: false });
    const validate = ajv.compile(manifestJsonSchema());
    const doc = JSON.parse(readFileSync(golden, 'utf8')) as Record<string, unknown>;
    expect(validate(doc)).toBe(true);
    expect(validate({ ...doc, extra: true })).toBe(false);
    expect(validate({ ...doc, format: 'plumbline.manifest/v2' })).toBe(false);
  });
});
