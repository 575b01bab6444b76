import { mkdtemp, mkdir, readFile, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { updateAttachmentsFile } from '@plumbline/core/node';
import { runCli } from './helpers.js';

const FILES: Record<string, string> = {
  'specs/users.yaml': 'openapi: 3.1.0\ninfo: { title: users, version: 1.0.0 }\npaths: {}\n',
  'config/gateway.yaml': 'listen: 0.0.0.0:8080\n',
  'plugins/auth.wasm': '\0asm\u0001\0\0\0',
};
const SHA = '3f786850e387550fdab836ed7e6dc881de23001b';
let dir: string;

async function writeInputs(root: string, order: string[], mtime: number): Promise<void> {
  for (const path of order) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), FILES[path]!);
    await utimes(join(root, path), mtime, mtime);
  }
}

const roles = [
  '--role',
  'specs/**=spec',
  '--role',
  'config/**=config',
  '--role',
  '**/*.wasm=plugin',
];

async function seal(out: string, inputs = 'inputs', env: Record<string, string> = {}) {
  return runCli(['seal', '--inputs', inputs, '--payload', 'payload.bin', '--out', out, ...roles], {
    cwd: dir,
    env: { SOURCE_DATE_EPOCH: '1700000000', ...env },
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plumbline-cli-artifact-'));
  await writeInputs(join(dir, 'inputs'), Object.keys(FILES), 1_000_000);
  await writeFile(join(dir, 'payload.bin'), '{"compiled":true}\n');
  await writeFile(join(dir, 'legacy.bin'), 'not a container\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('plumbline seal', () => {
  test('takes provenance from GitHub Actions variables and says which it used', async () => {
    const result = await seal('gh.plb', 'inputs', {
      GITHUB_SHA: SHA,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/gateway',
      GITHUB_REF: 'refs/heads/main',
      GITHUB_RUN_ID: '42',
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('commit from GITHUB_SHA');
    expect(result.stderr).toContain('source from GITHUB_SERVER_URL/GITHUB_REPOSITORY');
    expect(result.stderr).toContain('ref from GITHUB_REF');
    expect(result.stderr).toContain('build_timestamp from SOURCE_DATE_EPOCH');
    expect(result.stdout).toMatch(/^sealed gh\.plb\nartifact_hash +sha256:[0-9a-f]{64}\n/);
    const inspect = await runCli(['inspect', 'gh.plb', '--json'], { cwd: dir });
    const header = JSON.parse(inspect.stdout) as {
      provenance: Record<string, unknown>;
      build_timestamp: string;
    };
    expect(header.provenance).toEqual({
      ref: 'refs/heads/main',
      commit: SHA,
      source: 'https://github.com/acme/gateway',
      builder: header.provenance['builder'],
      build_url: 'https://github.com/acme/gateway/actions/runs/42',
    });
    expect(header.build_timestamp).toBe('2023-11-14T22:13:20Z');
  });

  test('takes GitLab variables, and flags win over them', async () => {
    const env = {
      CI_COMMIT_SHA: SHA,
      CI_PROJECT_URL: 'https://gitlab.example.com/group/gateway',
      CI_COMMIT_REF_NAME: 'main',
    };
    const result = await runCli(
      [
        'seal',
        '--inputs',
        'inputs',
        '--payload',
        'payload.bin',
        '--out',
        'gl.plb',
        '--ref',
        'release',
        '--json',
        '--builder-id',
        'acme-ci',
        '--builder-version',
        '7',
        '--extension',
        'com.example.gw.tier=edge',
        '--extension',
        'com.example.gw.routes=3',
      ],
      { cwd: dir, env },
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('commit from CI_COMMIT_SHA, source from CI_PROJECT_URL');
    expect(result.stderr).not.toContain('ref from');
    const out = JSON.parse(result.stdout) as {
      provenance: Record<string, unknown>;
      artifact_digest: string;
    };
    expect(out.provenance).toEqual({
      commit: SHA,
      source: 'https://gitlab.example.com/group/gateway',
      ref: 'release',
      builder: { id: 'acme-ci', version: '7' },
    });
    const inspect = await runCli(['inspect', 'gl.plb', '--json'], { cwd: dir });
    expect((JSON.parse(inspect.stdout) as { extensions: unknown }).extensions).toEqual({
      'com.example.gw.tier': 'edge',
      'com.example.gw.routes': 3,
    });
  });

  test('is byte-identical for the same inputs whatever the file order and mtimes', async () => {
    await writeInputs(join(dir, 'inputs-b'), Object.keys(FILES).reverse(), 2_000_000_000);
    expect((await seal('one.plb')).code).toBe(0);
    expect((await seal('two.plb', 'inputs-b')).code).toBe(0);
    expect(await readFile(join(dir, 'two.plb'))).toEqual(await readFile(join(dir, 'one.plb')));
  });

  test('refuses invalid provenance with a coded error and exit 2, no stack trace', async () => {
    const result = await runCli(
      [
        'seal',
        '--inputs',
        'inputs',
        '--payload',
        'payload.bin',
        '--out',
        'bad.plb',
        '--commit',
        'abc',
      ],
      { cwd: dir },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^plumbline: PLB_PROVENANCE_INVALID: /);
    expect(result.stderr).not.toContain('    at ');
    const bad = await runCli(
      [
        'seal',
        '--inputs',
        'inputs',
        '--payload',
        'payload.bin',
        '--out',
        'bad.plb',
        '--extension',
        'novalue',
      ],
      { cwd: dir },
    );
    expect(bad.stderr).toMatch(/^plumbline: PLB_USAGE: /);
  });
});

describe('plumbline inspect', () => {
  test('prints a readable summary, with --entries every input', async () => {
    await seal('inspect.plb');
    const result = await runCli(['inspect', 'inspect.plb', '--entries'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^artifact_hash +sha256:[0-9a-f]{64}$/m);
    expect(result.stdout).toMatch(/^inputs +3 \(config 1, plugin 1, spec 1\)$/m);
    expect(result.stdout).toMatch(/^build time +2023-11-14T22:13:20Z$/m);
    expect(result.stdout).toMatch(/^attachments +\(none\)$/m);
    expect(result.stdout).toMatch(/ plugin +plugins\/auth\.wasm$/m);
  });

  test('lists attachments, which leave verification and the header digest unchanged', async () => {
    await seal('att.plb');
    const before = await runCli(['inspect', 'att.plb'], { cwd: dir });
    await updateAttachmentsFile(join(dir, 'att.plb'), {
      'dev.plumbline.sigstore.bundle': new TextEncoder().encode('{"bundle":1}'),
    });
    const after = await runCli(['inspect', 'att.plb'], { cwd: dir });
    expect(after.stdout).toMatch(/^attachments +dev\.plumbline\.sigstore\.bundle \(12 bytes\)$/m);
    const digest = (text: string): string | undefined => /^header digest +(\S+)$/m.exec(text)?.[1];
    expect(digest(after.stdout)).toBe(digest(before.stdout));
    expect((await runCli(['verify', 'att.plb'], { cwd: dir })).code).toBe(0);
  });

  test('reports a legacy artifact with exit 3', async () => {
    const result = await runCli(['inspect', 'legacy.bin'], { cwd: dir });
    expect(result.code).toBe(3);
    expect(result.stdout).toContain('legacy artifact');
    expect(
      JSON.parse((await runCli(['inspect', 'legacy.bin', '--json'], { cwd: dir })).stdout),
    ).toEqual({
      legacy: true,
      artifact: 'legacy.bin',
    });
  });
});

describe('plumbline verify', () => {
  test('exit 0 when verified, 1 with the differing files, 3 for legacy, 2 for a truncated file', async () => {
    await writeInputs(join(dir, 'inputs-v'), Object.keys(FILES), 1_000_000);
    await seal('v.plb', 'inputs-v');
    const ok = await runCli(['verify', 'v.plb', '--inputs', 'inputs-v'], { cwd: dir });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^verified: v\.plb$/m);
    expect((await runCli(['verify', 'v.plb'], { cwd: dir })).code).toBe(0);

    await writeFile(join(dir, 'inputs-v/config/gateway.yaml'), 'listen: 0.0.0.0:9999\n');
    await writeFile(join(dir, 'inputs-v/config/new.yaml'), 'x: 1\n');
    const bad = await runCli(['verify', 'v.plb', '--inputs', 'inputs-v'], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^ {2}~ config\/gateway\.yaml /m);
    expect(bad.stdout).toMatch(/^ {2}\+ config\/new\.yaml /m);
    const json = JSON.parse(
      (await runCli(['verify', 'v.plb', '--inputs', 'inputs-v', '--json'], { cwd: dir })).stdout,
    ) as {
      status: string;
      changed: { path: string }[];
    };
    expect(json.status).toBe('mismatch');
    expect(json.changed.map((c) => c.path)).toEqual(['config/gateway.yaml']);

    const legacy = await runCli(['verify', 'legacy.bin'], { cwd: dir });
    expect(legacy.code).toBe(3);
    expect(legacy.stdout).toContain('unverified');

    await seal('t.plb');
    await truncate(join(dir, 't.plb'), 40);
    const truncated = await runCli(['verify', 't.plb'], { cwd: dir });
    expect(truncated.code).toBe(2);
    expect(truncated.stderr).toMatch(/^plumbline: PLB_TRUNCATED: .*offset 40/);
    expect(truncated.stderr).not.toContain('    at ');
  });
});

describe('plumbline diff with artifacts', () => {
  test('compares an artifact with a manifest document and with another artifact', async () => {
    await seal('d.plb');
    expect(
      (await runCli(['manifest', 'inputs', '--out', 'm.json', ...roles], { cwd: dir })).code,
    ).toBe(0);
    const same = await runCli(['diff', 'd.plb', 'm.json', '--json'], { cwd: dir });
    expect(same.code).toBe(0);
    expect((JSON.parse(same.stdout) as { a: { kind: string } }).a.kind).toBe('artifact');
    await writeInputs(join(dir, 'inputs-d'), Object.keys(FILES), 1);
    await writeFile(join(dir, 'inputs-d/specs/users.yaml'), 'changed\n');
    await seal('d2.plb', 'inputs-d');
    const differ = await runCli(['diff', 'd.plb', 'd2.plb'], { cwd: dir });
    expect(differ.code).toBe(1);
    expect(differ.stdout).toMatch(/^~ specs\/users\.yaml /m);
  });
});
