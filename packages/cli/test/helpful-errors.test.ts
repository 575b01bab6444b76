import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { run, startControlPlane, type CliIO, type RunningControlPlane } from '@plumbline/cli';
import { hashToken } from '@plumbline/ws';
import { closest } from '../src/error-output.js';
import { runCli } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plumbline-cli-errors-'));
  await mkdir(join(dir, 'config'));
  await writeFile(join(dir, 'config', 'gateway.yaml'), 'listen: 8080\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('errors say what to do', () => {
  test('diff of a directory says diff takes manifests or artifacts, and how to make one', async () => {
    const result = await runCli(['diff', 'config', 'config'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'plumbline: PLB_INPUT_UNSUPPORTED: config is a directory: diff compares two manifests or ' +
        'sealed artifacts; fingerprint a directory first with ' +
        '`plumbline manifest config --out config.manifest.json`\n',
    );
  });

  test('an unknown command suggests the closest one and points at --help', async () => {
    const result = await runCli(['sael']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "plumbline: PLB_USAGE: unknown command 'sael' (did you mean seal?); see `plumbline --help`\n",
    );
    const far = await runCli(['frobnicate']);
    expect(far.stderr).toBe(
      "plumbline: PLB_USAGE: unknown command 'frobnicate'; see `plumbline --help`\n",
    );
  });

  test('an unknown subcommand of a command that also runs alone suggests the subcommand', async () => {
    const result = await runCli(['fleet', 'nod', 'gw-1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "plumbline: PLB_USAGE: unknown command 'fleet nod' (did you mean node?); see `plumbline fleet --help`\n",
    );
  });

  test("an unknown option suggests the closest one and points at the command's --help", async () => {
    const result = await runCli([
      'seal',
      '--inputs',
      'config',
      '--payload',
      'p',
      '--out',
      'o',
      '--comit',
      'x',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "plumbline: PLB_USAGE: unknown option '--comit' (did you mean --commit?); see `plumbline seal --help`\n",
    );
  });

  test('with --json, errors are one JSON document on stderr and stdout stays empty', async () => {
    const missing = await runCli(['inspect', 'nothing.plb', '--json'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr.endsWith('\n')).toBe(true);
    expect(missing.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(missing.stderr)).toMatchObject({
      error: { code: 'PLB_IO', exit_code: 2, message: expect.stringContaining('nothing.plb') },
    });
    const usage = await runCli(['diff', 'a', 'b', '--json', '--frob']);
    expect(JSON.parse(usage.stderr)).toEqual({
      error: {
        code: 'PLB_USAGE',
        message: "unknown option '--frob'; see `plumbline diff --help`",
        exit_code: 2,
      },
    });
    // After `--`, --json is an argument, not the flag.
    const operand = await runCli(['sael', '--', '--json']);
    expect(operand.stderr).toMatch(/^plumbline: PLB_USAGE: /);
  });

  test('fleet set-desired and expected-nodes without --cluster name the missing option', async () => {
    const hash = `sha256:${'a'.repeat(64)}`;
    const result = await runCli(['fleet', 'set-desired', '--artifact-hash', hash, '--reason', 'r']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^plumbline: PLB_USAGE: fleet set-desired needs --cluster <cluster>/,
    );
    const json = await runCli(['fleet', 'expected-nodes', 'gw-1', '--json']);
    expect(JSON.parse(json.stderr)).toMatchObject({
      error: { code: 'PLB_USAGE', details: { missing_option: '--cluster' } },
    });
  });

  test('closest() prefers the smallest edit distance and gives up beyond two', () => {
    expect(closest('verfy', ['verify', 'verify-proof', 'verify-image'])).toBe('verify');
    expect(closest('sbon', ['seal', 'sbom', 'sign'])).toBe('sbom');
    expect(closest('ndoe', ['node', 'set-desired'])).toBe('node');
    expect(closest('xyzzy', ['node', 'set-desired'])).toBeUndefined();
  });
});

describe('fleet node for a node the control plane does not know', () => {
  let cp: RunningControlPlane;
  const env: Record<string, string> = {};
  beforeAll(async () => {
    await writeFile(
      join(dir, 'node-tokens.json'),
      JSON.stringify({ 'gw-1': { cluster: 'prod', token_sha256: hashToken('t') } }),
    );
    await writeFile(join(dir, 'admin.token'), 'admin-secret\n');
    cp = await startControlPlane({
      nodeTokens: join(dir, 'node-tokens.json'),
      adminToken: 'admin-secret',
      logOutput: { write: () => true },
    });
    env['PLUMBLINE_ADMIN_URL'] = cp.adminUrl;
    env['PLUMBLINE_ADMIN_TOKEN_FILE'] = join(dir, 'admin.token');
  });
  afterAll(async () => {
    await cp?.close();
  });

  test('fleet --watch redraws until the process is asked to stop', async () => {
    await runCli(['fleet', 'expected-nodes', '--cluster', 'prod', 'gw-1'], { env });
    let stdout = '';
    const stop = new AbortController();
    const io: CliIO = {
      stdout: {
        write: (text: string) => {
          stdout += text;
          if (stdout.split('--- ').length > 3) stop.abort();
        },
        isTTY: false,
      },
      stderr: { write: () => true, isTTY: false },
      env,
      cwd: dir,
      shutdownSignal: stop.signal,
    };
    const code = await run(['fleet', '--watch', '20ms'], io);
    expect(code).toBe(0);
    const frames = stdout.split(/^--- \S+\n/m).slice(1);
    expect(frames.length).toBeGreaterThanOrEqual(3);
    for (const frame of frames) {
      expect(frame).toMatch(
        /^NODE\s+CLUSTER\s+STATE\s+AGE\s+REPORTED\s+DESIRED\s+LAST SEEN\s+WHY$/m,
      );
      expect(frame).toMatch(
        /^gw-1\s+prod\s+never_seen\s+\d+s\s+-\s+-\s+-\s+expected, never connected$/m,
      );
    }
  });

  test('names the node and says how nodes appear', async () => {
    const result = await runCli(['fleet', 'node', 'gw-9'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^plumbline: PLB_FLEET_NODE_UNKNOWN: the control plane knows no node "gw-9": .*expected-nodes/,
    );
  });
});
