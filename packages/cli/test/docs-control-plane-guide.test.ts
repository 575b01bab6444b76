import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

// The control-plane guide quotes what `plumbline control-plane migrate` prints; the quoted lines
// are compared here with the real command's output on a fresh schema of the real PostgreSQL.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const guide = readFileSync(join(root, 'docs', 'guides', 'control-plane-and-agent.md'), 'utf8');
const PG_URL = process.env['PLUMBLINE_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `plbdoc_${randomBytes(5).toString('hex')}`;

afterAll(() => {
  execFileSync('psql', [PG_URL, '-q', '-c', `DROP SCHEMA IF EXISTS "${schema}" CASCADE`], {
    env: { ...process.env, PGOPTIONS: '--client-min-messages=warning' },
  });
});

describe('the control-plane guide', () => {
  it('quotes what migrate prints on a new schema and when run again', async () => {
    const sentence =
      /`migrate` prints `([^`]+)` on a new schema and\s+`([^`]+)` when run again/.exec(guide);
    expect(sentence).not.toBeNull();
    const [first, again] = [sentence![1]!, sentence![2]!].map((line) =>
      line.replace('schema plumbline:', `schema ${schema}:`),
    );
    const run1 = await runCli(['control-plane', 'migrate', '--store', PG_URL, '--schema', schema]);
    expect(run1.code).toBe(0);
    expect(run1.stdout).toBe(`${first}\n`);
    const run2 = await runCli(['control-plane', 'migrate', '--store', PG_URL, '--schema', schema]);
    expect(run2.code).toBe(0);
    expect(run2.stdout).toBe(`${again}\n`);
  });
});
