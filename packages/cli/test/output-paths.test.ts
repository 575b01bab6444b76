import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from './helpers.js';

let dir: string;
const SHA = '3f786850e387550fdab836ed7e6dc881de23001b';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plumbline-cli-out-'));
  await writeFile(join(dir, 'routes.json'), '{"routes":[]}\n');
  await writeFile(join(dir, 'payload.bin'), 'compiled\n');
  await writeFile(join(dir, 'a-file'), 'x');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sealArgs = (out: string, extra: string[] = []) => [
  'seal',
  '--inputs',
  'routes.json',
  '--payload',
  'payload.bin',
  '--out',
  out,
  ...extra,
];

describe('output paths create their folders', () => {
  test('keygen --out keys/release writes keys/release.{key,pub}.pem in a new folder', async () => {
    const result = await runCli(['keygen', '--out', 'keys/nested/release'], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const key = await stat(join(dir, 'keys/nested/release.key.pem'));
    expect(key.mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, 'keys/nested/release.pub.pem'), 'utf8')).toContain(
      'BEGIN PUBLIC KEY',
    );
  });

  test('seal --out out/a.plb, then manifest, sbom, attest and sign into new folders', async () => {
    const sealed = await runCli(sealArgs('out/a.plb', ['--commit', SHA]), { cwd: dir });
    expect(sealed.stderr).toBe('');
    expect(sealed.code).toBe(0);
    expect((await stat(join(dir, 'out/a.plb'))).size).toBeGreaterThan(0);
    for (const argv of [
      ['manifest', 'routes.json', '--out', 'm/manifest.json'],
      ['sbom', 'out/a.plb', '--out', 's/bom.cdx.json'],
      ['attest', 'out/a.plb', '--out', 'at/statement.json'],
      ['keygen', '--out', 'k/sign'],
      ['sign', 'out/a.plb', '--key', 'k/sign.key.pem', '--no-tlog', '--out', 'b/a.sigstore.json'],
    ]) {
      const result = await runCli(argv, { cwd: dir });
      expect({ argv, code: result.code, stderr: result.stderr }).toEqual({
        argv,
        code: 0,
        stderr: expect.not.stringContaining('PLB_IO') as unknown as string,
      });
      const out = argv[argv.indexOf('--out') + 1]!;
      const written = argv[0] === 'keygen' ? `${out}.pub.pem` : out;
      expect((await stat(join(dir, written))).size).toBeGreaterThan(0);
    }
  });

  test('a parent that is a file is a PLB_IO error naming the path', async () => {
    const result = await runCli(sealArgs('a-file/a.plb', ['--commit', SHA]), { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^plumbline: PLB_IO: .*a-file/);
  });
});

describe('seal without a commit', () => {
  test('warns that a data plane requiring a commit will refuse the artifact', async () => {
    const result = await runCli(sealArgs('nocommit.plb'), { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('plumbline: warning: no --commit');
    expect(result.stderr).toContain('requireCommit');
  });

  test('says nothing when the commit comes from --commit or from CI', async () => {
    const flag = await runCli(sealArgs('c1.plb', ['--commit', SHA]), { cwd: dir });
    expect(flag.stderr).not.toContain('warning');
    const ci = await runCli(sealArgs('c2.plb'), { cwd: dir, env: { GITHUB_SHA: SHA } });
    expect(ci.code).toBe(0);
    expect(ci.stderr).not.toContain('warning');
  });
});
