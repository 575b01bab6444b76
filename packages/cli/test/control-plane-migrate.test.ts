import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const PG_URL = process.env['PLUMBLINE_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `plbcli_${randomBytes(5).toString('hex')}`;

afterAll(() => {
  execFileSync('psql', [PG_URL, '-q', '-c', `DROP SCHEMA IF EXISTS "${schema}" CASCADE`], {
    env: { ...process.env, PGOPTIONS: '--client-min-messages=warning' },
  });
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
    expect(JSON.parse(first.stdout)).toEqual({ schema, from: 0, to: 5, applied: [1, 2, 3, 4, 5] });
    const again = await runCli(['control-plane', 'migrate', '--store', PG_URL, '--schema', schema]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`schema ${schema}: version 5 (up to date)\n`);
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
    const secret = await runCli([
      'control-plane',
      'migrate',
      '--store',
      'postgres://plb:s3cret-pw@127.0.0.1:1/test',
      '--json',
    ]);
    expect(secret.code).toBe(2);
    // With --json the error is a JSON document on stderr.
    expect(JSON.parse(secret.stderr)).toMatchObject({ error: { code: 'PLB_PG_UNAVAILABLE' } });
    expect(secret.stderr).not.toContain('s3cret-pw');
    const garbled = await runCli([
      'control-plane',
      'migrate',
      '--store',
      'postgres://u:s3cret-pw@[bad/x',
    ]);
    expect(garbled.code).toBe(2);
    expect(garbled.stderr).toMatch(/^plumbline: PLB_USAGE: /);
    expect(garbled.stderr).not.toContain('s3cret-pw');
    const badSchema = await runCli([
      'control-plane',
      'migrate',
      '--store',
      PG_URL,
      '--schema',
      'Robert"); DROP',
    ]);
    expect(badSchema.code).toBe(2);
    expect(badSchema.stderr).toMatch(/^plumbline: PLB_PG_OPTIONS: /);
  });

  it('the control plane refuses a schema that was not migrated, and --schema without --store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plumbline-cp-pg-'));
    try {
      await writeFile(join(dir, 'admin.token'), 'admin-secret\n');
      await writeFile(join(dir, 'tokens.json'), '{}');
      const base = [
        'control-plane',
        '--listen',
        '127.0.0.1:0',
        '--admin-listen',
        '127.0.0.1:0',
        '--node-tokens',
        join(dir, 'tokens.json'),
        '--admin-token-file',
        join(dir, 'admin.token'),
      ];
      const unmigrated = await runCli([...base, '--store', PG_URL, '--schema', `${schema}_none`]);
      expect(unmigrated.code).toBe(2);
      expect(unmigrated.stderr).toContain('plumbline: PLB_PG_SCHEMA: ');
      expect(unmigrated.stderr).toContain('plumbline control-plane migrate');
      expect(unmigrated.stdout).toBe('');
      const orphan = await runCli([
        ...base,
        '--schema',
        'fleet',
        '--state-file',
        join(dir, 's.json'),
      ]);
      expect(orphan.code).toBe(2);
      expect(orphan.stderr).toMatch(/^plumbline: PLB_USAGE: --schema needs --store/);
      const notPg = await runCli([...base, '--store', 'mysql://root:s3cret-pw@db/x']);
      expect(notPg.code).toBe(2);
      expect(notPg.stderr).toMatch(/^plumbline: PLB_USAGE: /);
      expect(notPg.stderr).not.toContain('s3cret-pw');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
