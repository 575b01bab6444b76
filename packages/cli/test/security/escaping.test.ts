import { copyFile, mkdtemp, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers.js';
import { escapeControl } from '../../src/escape.js';

let dir: string;
// eslint-disable-next-line no-control-regex -- what must never reach a terminal raw
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const sealArgs = ['seal', '--inputs', 'inputs', '--payload', 'payload.bin', '--out'];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plumbline-cli-escape-'));
  await mkdir(join(dir, 'inputs'));
  await writeFile(join(dir, 'inputs', 'gateway.yaml'), 'listen: 8080\n');
  await writeFile(join(dir, 'payload.bin'), '{}\n');
  const sealed = await runCli([...sealArgs, 'ok.plb'], {
    cwd: dir,
    env: { SOURCE_DATE_EPOCH: '1700000000' },
  });
  expect(sealed.code).toBe(0);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('plumbline seal refuses what a header must not store', () => {
  it.each([
    ['a token in a query parameter', 'https://h.example/o/r?access_token=ghs_SeCrEt0123456789'],
    ['user info', 'https://x-access-token:ghs_SeCrEt0123456789@h.example/o/r'],
  ])('--source with %s: coded error naming the field, not the value', async (_, source) => {
    const result = await runCli([...sealArgs, 'leak.plb', '--source', source], {
      cwd: dir,
      env: { SOURCE_DATE_EPOCH: '1700000000' },
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^plumbline: PLB_PROVENANCE_INVALID: provenance source: /m);
    expect(result.stderr + result.stdout).not.toContain('SeCrEt0123456789');
    await expect(stat(join(dir, 'leak.plb'))).rejects.toThrow();
  });

  it.each([
    ['--source', 'https://h.example/o/r\r\nverified: yes'],
    ['--build-url', 'https://ci.example/1\nverified: yes'],
  ])('%s with CR/LF is refused', async (flag, value) => {
    const result = await runCli([...sealArgs, 'crlf.plb', flag, value], {
      cwd: dir,
      env: { SOURCE_DATE_EPOCH: '1700000000' },
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('PLB_PROVENANCE_INVALID');
    expect(result.stderr).not.toMatch(RAW_CONTROL);
  });
});

describe('untrusted text is printed escaped', () => {
  it('inspect escapes control characters in the artifact name', async () => {
    const name = 'evil\u001b[2J\rverified: yes\u0007.plb';
    await copyFile(join(dir, 'ok.plb'), join(dir, name));
    const result = await runCli(['inspect', name], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(RAW_CONTROL);
    expect(result.stdout).toContain('evil\\x1b[2J\\rverified: yes\\x07.plb');
  });

  it('error lines escape a hostile path', async () => {
    const result = await runCli(['inspect', 'missing\u001b]0;owned\u0007.plb'], { cwd: dir });
    expect(result.code).not.toBe(0);
    expect(result.stderr).not.toMatch(RAW_CONTROL);
    expect(result.stderr).toContain('\\x1b]0;owned\\x07');
  });

  it('escapeControl escapes C0, DEL, C1 and bidi controls and keeps other text', () => {
    expect(escapeControl('a\tb\nc\u007f\u009b\u202e\u2066 ü ✓ \\')).toBe(
      'a\\tb\\nc\\x7f\\u009b\\u202e\\u2066 ü ✓ \\',
    );
  });
});
