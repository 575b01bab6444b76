import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const PG_URL = process.env['PLUMBLINE_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `plbcli_${randomBytes(5).toString('hex')}`;

afterAll(() => {
  execFileSync('psql', [PG_URL, '-q', '-c', `DROP SCHEMA IF EXISTS "${schema}" CASCADE`]);
});

describe('plumbline control-plane migrate', () => {
  it('creates the PostgreSQL fleet store schema once', async () => {
    const first = await runCli([
      'control-plane',
      'migrate',
      '--store',
      PG_URL,
      '--schema',
      schema,
      '--json',
    ]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ schema, from: 0, to: 1, applied: [1] });
    const again = await runCli(['control-plane', 'migrate', '--store', PG_URL, '--schema', schema]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`schema ${schema}: version 1 (up to date)\n`);
  });

  it('refuses a missing or non-PostgreSQL store and an unreachable server', async () => {
    const missing = await runCli(['control-plane', 'migrate']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^plumbline: PLB_USAGE: /);
    const other = await runCli(['control-plane', 'migrate', '--store', 'mysql://x']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/^plumbline: PLB_USAGE: /);
    const down = await runCli([
      'control-plane',
      'migrate',
      '--store',
      'postgres://postgres@127.0.0.1:1/test',
    ]);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/^plumbline: PLB_PG_UNAVAILABLE: /);
    expect(down.stderr).not.toContain('postgres://');
  });
});
