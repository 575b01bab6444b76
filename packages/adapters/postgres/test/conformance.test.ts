import { afterAll } from 'vitest';
import { describeFleetStoreConformance } from '@plumbline/core/testing';
import { PostgresFleetStore } from '../src/index.js';
import { PG_URL, dropSchema, freshSchemaName } from './helpers.js';

const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
});

await describeFleetStoreConformance('postgres', async () => {
  const schema = freshSchemaName();
  schemas.push(schema);
  const open = () =>
    PostgresFleetStore.open({ connectionString: PG_URL, schema, sweep: false, poolSize: 3 });
  return {
    store: await open(),
    reopen: open,
    replica: open,
    dispose: () => dropSchema(schema),
  };
});
