import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, type CliIO } from '@plumbline/cli';
import { parseManifest, serializeManifest, manifestFromEntries } from '@plumbline/core/manifest';
import { runCli } from './helpers.js';
import { ProgressBar } from '../src/progress-bar.js';
import { loadManifestInput, type ManifestInputLoader } from '../src/commands/diff-input.js';

const fixtures = new URL('../../examples/fixtures/gateway-config/', import.meta.url).pathname;
const golden = JSON.parse(
  readFileSync(
    new URL('../../core/test/golden/gateway-config.manifest.json', import.meta.url),
    'utf8',
  ),
) as { root: string };
const work = mkdtempSync(join(tmpdir(), 'plb-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const roles = ['--role', 'specs/**=spec', '--role', 'plugins/**=plugin', '--role', '**=config'];

describe('plumbline manifest', () => {
  it('prints the root of the sample configuration', async () => {
    const result = await runCli(['manifest', fixtures]);
    expect(result).toEqual({ code: 0, stdout: `${golden.root}\n`, stderr: '' });
  });

  it('prints and writes the manifest document', async () => {
    const out = join(work, 'm.json');
    const result = await runCli(['manifest', fixtures, ...roles, '--json', '--out', out]);
    expect(result.code).toBe(0);
    const expected = readFileSync(
      new URL('../../core/test/golden/gateway-config.manifest.json', import.meta.url),
      'utf8',
    );
    expect(result.stdout).toBe(expected);
    expect(readFileSync(out, 'utf8')).toBe(expected);
  });

  it('applies --base, --include and --exclude relative to the working directory', async () => {
    const result = await runCli(
      ['manifest', 'specs', 'gateway.yaml', '--exclude', 'specs/payments*', '--json'],
      { cwd: fixtures },
    );
    expect(result.code).toBe(0);
    const m = parseManifest(result.stdout);
    expect(m.entries.map((e) => e.path)).toEqual([
      'gateway.yaml',
      'specs/orders.openapi.yaml',
      'specs/users.openapi.yaml',
    ]);
    const included = await runCli(['manifest', fixtures, '--include', '**/*.wasm', '--json']);
    expect(parseManifest(included.stdout).entries.map((e) => e.path)).toEqual([
      'plugins/rate-limit.wasm',
    ]);
    const based = await runCli(['manifest', join(fixtures, 'specs'), '--base', fixtures, '--json']);
    expect(parseManifest(based.stdout).entries[0]!.path).toBe('specs/orders.openapi.yaml');
  });

  it('reports input errors as plumbline: CODE: message with exit code 2', async () => {
    const missing = await runCli(['manifest', join(work, 'nothing')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /^plumbline: PLB_INPUT_MISSING: input ".*nothing" does not exist\n$/,
    );
    const badRole = await runCli(['manifest', fixtures, '--role', 'x=secret']);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/^plumbline: PLB_USAGE: --role takes GLOB=ROLE/);
    const badConcurrency = await runCli(['manifest', fixtures, '--concurrency', 'zero']);
    expect(badConcurrency.stderr).toMatch(/PLB_USAGE: --concurrency/);
    const dir = join(work, 'case');
    mkdirSync(dir);
    writeFileSync(join(dir, 'A.yaml'), 'a');
    writeFileSync(join(dir, 'a.yaml'), 'b');
    const collision = await runCli(['manifest', dir]);
    expect(collision.code).toBe(2);
    expect(collision.stderr).toMatch(/^plumbline: PLB_PATH_CASE_COLLISION: /);
    expect((await runCli(['manifest', dir, '--allow-case-collisions'])).code).toBe(0);
  });

  it('shows a progress bar on a terminal for large trees only', async () => {
    const dir = join(work, 'many');
    for (let i = 0; i < 2100; i++) {
      mkdirSync(join(dir, String(i % 10)), { recursive: true });
      writeFileSync(join(dir, String(i % 10), `${i}.txt`), String(i));
    }
    let stderr = '';
    let stdout = '';
    const io: CliIO = {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s), isTTY: true },
      env: {},
      cwd: work,
    };
    expect(await run(['manifest', 'many'], io)).toBe(0);
    expect(stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(stderr).toContain('2,100/2,100 files');
    expect(stderr.endsWith('\r\u001b[K')).toBe(true);
    const quiet = await runCli(['manifest', 'many'], { cwd: work });
    expect(quiet.stderr).toBe('');
  });

  it('prints help', async () => {
    const result = await runCli(['manifest', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: plumbline manifest [options] <path...>');
    expect(result.stdout).toContain('--role <glob=role>');
  });
});

describe('plumbline prove and verify-proof', () => {
  const manifestFile = join(work, 'prove.json');

  it('proves an entry and verifies the proof, against the trusted root too', async () => {
    expect((await runCli(['manifest', fixtures, '--out', manifestFile])).code).toBe(0);
    const proof = await runCli(['prove', manifestFile, 'plugins/rate-limit.wasm', '--json']);
    expect(proof.code).toBe(0);
    const doc = JSON.parse(proof.stdout) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual([
      'path',
      'digest',
      'leaf_index',
      'tree_size',
      'audit_path',
      'root',
    ]);
    expect(doc).toMatchObject({
      path: 'plugins/rate-limit.wasm',
      leaf_index: 1,
      tree_size: 6,
      root: golden.root,
    });
    expect((doc.audit_path as string[]).every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true);
    const proofFile = join(work, 'proof.json');
    writeFileSync(proofFile, proof.stdout);

    const ok = await runCli(['verify-proof', proofFile, '--root', golden.root]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^verified: plugins\/rate-limit.wasm /);
    const okJson = await runCli(['verify-proof', proofFile, '--json']);
    expect(JSON.parse(okJson.stdout)).toEqual({
      verified: true,
      path: 'plugins/rate-limit.wasm',
      digest: doc.digest,
      root: golden.root,
      leaf_index: 1,
      // An inclusion proof alone fits 5 to 8 entries: no size is claimed as proven.
      tree_size: null,
      tree_size_range: [5, 8],
    });

    const otherRoot = `sha256:${'1'.repeat(64)}`;
    const wrong = await runCli(['verify-proof', proofFile, '--root', otherRoot]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/^NOT verified/);

    const tampered = join(work, 'tampered.json');
    writeFileSync(tampered, JSON.stringify({ ...doc, digest: `sha256:${'2'.repeat(64)}` }));
    const bad = await runCli(['verify-proof', tampered, '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ verified: false });

    const text = await runCli([
      'prove',
      manifestFile,
      'routes.json',
      '--out',
      join(work, 'p2.json'),
    ]);
    expect(text.stdout).toContain('leaf index: 2 of 6');
    expect((await runCli(['verify-proof', join(work, 'p2.json')])).code).toBe(0);
  });

  it('refuses malformed proofs, bad roots, unknown entries and broken manifests with exit code 2', async () => {
    const garbage = join(work, 'garbage.json');
    writeFileSync(garbage, '{"path":');
    expect(await runCli(['verify-proof', garbage])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/PLB_INPUT_MALFORMED/),
    });
    writeFileSync(garbage, '{"path":"x"}');
    expect(await runCli(['verify-proof', garbage])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/PLB_PROOF_INVALID/),
    });
    writeFileSync(garbage, ' '.repeat(70 * 1024));
    expect(await runCli(['verify-proof', garbage])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/PLB_INPUT_TOO_LARGE/),
    });
    expect(await runCli(['verify-proof', garbage, '--root', 'sha256:xyz'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/PLB_USAGE/),
    });
    expect(await runCli(['verify-proof', join(work, 'none.json')])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/PLB_INPUT_MISSING/),
    });
    expect(await runCli(['verify-proof', work])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/PLB_INPUT_UNSUPPORTED/),
    });
    expect(await runCli(['prove', manifestFile, 'nope.yaml'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/PLB_ENTRY_NOT_FOUND/),
    });
    const broken = join(work, 'broken.json');
    writeFileSync(
      broken,
      readFileSync(manifestFile, 'utf8').replace(
        '2d8a10bfc8c6a0e62a2edd4ae1953cfc31eabb63ddf8c1a7017a2bc5880b0cc5',
        '3'.repeat(64),
      ),
    );
    expect(await runCli(['prove', broken, 'routes.json'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/PLB_MANIFEST_ROOT_MISMATCH/),
    });
  });
});

describe('plumbline diff', () => {
  it('exits 0 for equal manifests and 1 with the differences otherwise', async () => {
    const e = (path: string, c: string) => ({
      path,
      size: 1,
      digest: `sha256:${c.repeat(64)}` as const,
    });
    const a = join(work, 'a.json');
    const b = join(work, 'b.json');
    writeFileSync(
      a,
      serializeManifest(
        manifestFromEntries([e('gateway.yaml', '1'), e('old.yaml', '2'), e('same.json', '3')]),
      ),
    );
    writeFileSync(
      b,
      serializeManifest(
        manifestFromEntries([e('gateway.yaml', '4'), e('new.yaml', '5'), e('same.json', '3')]),
      ),
    );
    const same = await runCli(['diff', a, a]);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/equal: 3 entries\n$/);
    const differ = await runCli(['diff', a, b]);
    expect(differ.code).toBe(1);
    expect(differ.stdout.split('\n').slice(2)).toEqual([
      `- old.yaml  sha256:${'2'.repeat(64)}`,
      `+ new.yaml  sha256:${'5'.repeat(64)}`,
      `~ gateway.yaml  sha256:${'1'.repeat(64)} -> sha256:${'4'.repeat(64)}`,
      '1 added, 1 removed, 1 changed, 1 unchanged',
      '',
    ]);
    const json = await runCli(['diff', a, b, '--json']);
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({
      equal: false,
      a: { source: a, kind: 'manifest' },
      removed: [{ path: 'old.yaml' }],
      added: [{ path: 'new.yaml' }],
      changed: [
        {
          path: 'gateway.yaml',
          before: { digest: `sha256:${'1'.repeat(64)}` },
          after: { digest: `sha256:${'4'.repeat(64)}` },
        },
      ],
      unchanged: 1,
    });
    const missing = await runCli(['diff', a, join(work, 'missing.json')]);
    expect(missing).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^plumbline: PLB_INPUT_MISSING: /),
    });
  });

  it('lets another loader claim an input by its first bytes', async () => {
    const file = join(work, 'custom.bin');
    writeFileSync(file, 'CUSTOM');
    const custom: ManifestInputLoader = {
      kind: 'custom',
      detect: (head) => new TextDecoder().decode(head).startsWith('CUSTOM'),
      load: async () => ({ kind: 'custom', root: manifestFromEntries([]).root, entries: [] }),
    };
    expect((await loadManifestInput(work, file, [custom])).kind).toBe('custom');
    await expect(loadManifestInput(work, join(work, 'a.json'), [custom])).rejects.toThrow(
      expect.objectContaining({ code: 'PLB_INPUT_UNSUPPORTED' }),
    );
  });
});

describe('ProgressBar', () => {
  it('draws only on a terminal and at most every 100 ms', () => {
    let out = '';
    let now = 0;
    const bar = new ProgressBar(
      { write: (s: string) => (out += s), isTTY: true },
      { now: () => now },
    );
    bar.update('scanning', 2500, 0, 0);
    expect(out).toBe('\r\u001b[Kscanning 2,500 files');
    bar.update('hashing', 2600, 5000, 3 * 1024 * 1024);
    expect(out).toBe('\r\u001b[Kscanning 2,500 files');
    now = 200;
    bar.update('hashing', 2600, 5000, 3 * 1024 * 1024);
    expect(out).toContain('[############------------] 2,600/5,000 files 3.0 MiB');
    bar.done();
    expect(out.endsWith('\r\u001b[K')).toBe(true);
    let silent = '';
    const off = new ProgressBar({ write: (s: string) => (silent += s) });
    off.update('hashing', 5000, 5000, 10);
    off.done();
    expect(silent).toBe('');
  });
});
