import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { run, type CliIO } from '@plumbline/cli';

let dir: string;
const SHA = '3f786850e387550fdab836ed7e6dc881de23001b';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plumbline-cli-progress-'));
  await writeFile(join(dir, 'routes.json'), '{"routes":[]}\n');
  await writeFile(join(dir, 'payload.bin'), 'compiled\n');
  // One large input (sparse, so the test stays light): few files, many bytes.
  await writeFile(join(dir, 'big.bin'), '');
  await truncate(join(dir, 'big.bin'), 65 * 1024 * 1024);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI with stderr as a terminal or not; returns what each stream got. */
async function cli(argv: string[], tty: boolean) {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: tty },
    env: {},
    cwd: dir,
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

const seal = ['seal', '--inputs', 'routes.json', '--payload', 'payload.bin', '--commit', SHA];

describe('progress on a terminal, silence elsewhere', () => {
  test('seal shows its steps on a terminal and erases them', async () => {
    const result = await cli([...seal, '--out', 'a.plb'], true);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('\r\u001b[Khashing inputs …');
    expect(result.stderr).toContain('\r\u001b[Ksealing a.plb …');
    expect(result.stderr.endsWith('\r\u001b[K')).toBe(true);
    expect(result.stdout).toContain('sealed a.plb');
  });

  test('verify shows its step on a terminal', async () => {
    await cli([...seal, '--out', 'v.plb'], false);
    const result = await cli(['verify', 'v.plb', '--inputs', 'routes.json'], true);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('\r\u001b[Kverifying v.plb …');
    expect(result.stderr.endsWith('\r\u001b[K')).toBe(true);
  });

  test('manifest of one large file shows a bar with bytes', async () => {
    const result = await cli(['manifest', 'big.bin'], true);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('1/1 files 65.0 MiB');
    expect(result.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
  });

  test('nothing but the result when stderr is not a terminal', async () => {
    for (const argv of [
      [...seal, '--out', 'b.plb'],
      ['verify', 'b.plb', '--inputs', 'routes.json'],
      ['manifest', 'big.bin'],
    ]) {
      const result = await cli(argv, false);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
    }
  });
});
