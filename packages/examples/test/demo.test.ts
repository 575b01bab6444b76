import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const examples = join(here, '..');
const repo = join(examples, '..', '..');
/** What the story printed (the first test), for the test of its printed commands. */
let story = '';
const root = mkdtempSync(join(tmpdir(), 'plumbline-demo-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Starts the demo the way `npm run demo` does (stdout is a pipe, not a terminal). */
function demo(
  out: string,
  args: string[] = [],
  env: Record<string, string> = {},
): ChildProcessWithoutNullStreams {
  return spawn(
    process.execPath,
    ['--conditions=@plumbline/source', '--import', 'tsx', 'demo/demo.ts', ...args],
    {
      cwd: examples,
      env: { ...process.env, PLUMBLINE_DEMO_OUT: out, NO_COLOR: '1', ...env },
      stdio: 'pipe',
    },
  );
}

/** The JSON pointer the demo's out-of-band `POST /load` changes in Caddy's configuration. */
const CHANGED = '/apps/http/servers/main/routes/0/handle/0/body';

/** Checks the live-configuration step: in sync, drift naming the change, the alert, in sync again. */
function expectOutOfBandStep(stdout: string): void {
  const start = stdout.indexOf('Change a gateway through its own admin API');
  expect(start).toBeGreaterThan(0);
  const step = stdout.slice(start);
  const lines = [
    'edge-1: in_sync (the live configuration is the sealed one)',
    'POST /load to the admin API',
    `edge-1: drift: running config changed out of band at ${CHANGED}\n`,
    `webhook: ConfigurationDrift (drift.detected) for edge-1 at ${CHANGED}, Plumbline-Signature verified`,
    'edge-1: in_sync again',
  ];
  let at = 0;
  for (const line of lines) {
    const next = step.indexOf(line, at);
    expect(next, line).toBeGreaterThanOrEqual(at);
    at = next;
  }
}

function collect(child: ChildProcessWithoutNullStreams): {
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
} {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exit: new Promise((resolve) => child.on('close', resolve)),
  };
}

/** The fleet table printed after `title`: node id → [state, reports, desired, commit]. */
function table(stdout: string, title: string): Record<string, string[]> {
  const start = stdout.indexOf(`fleet (GET /v1/fleet) ${title}`);
  expect(start, title).toBeGreaterThanOrEqual(0);
  const lines = stdout.slice(start).split('\n').slice(2, 5);
  return Object.fromEntries(lines.map((l) => l.trim().split(/ +/)).map(([id, ...r]) => [id, r]));
}

describe('npm run demo', () => {
  it('tells the whole story, exits 0 on its own when stdout is not a terminal', async () => {
    const out = join(root, 'story');
    const child = demo(out);
    child.stdin.end();
    const run = collect(child);
    // The demo must exit by itself: a listener or timer left open would keep it alive.
    const code = await run.exit;
    const stdout = run.stdout();
    expect(run.stderr()).toBe('');
    expect(code).toBe(0);
    story = stdout;
    // Each refusal reason is printed whole.
    expect(stdout).toMatch(
      /unsigned +→ refused: PLB_LOAD_REJECTED: .*\(signature: a signature is required but none is present\)\n/,
    );
    expect(stdout).toMatch(
      /tampered +→ refused: PLB_LOAD_REJECTED: .*signature: signature not valid: [^\n]*the payload was changed\)\n/,
    );

    // The dashboard URL is printed; the admin token is not (stdout is not a terminal) but is in
    // a 0600 file, and in none of the logs.
    expect(stdout).toMatch(/dashboard: http:\/\/127\.0\.0\.1:\d+\/ui\//);
    expect(stdout).toMatch(/admin token: in .*admin\.token \(not printed/);
    const token = readFileSync(join(out, 'admin.token'), 'utf8').trim();
    expect(token.length).toBeGreaterThan(20);
    expect(statSync(join(out, 'admin.token')).mode & 0o077).toBe(0);
    expect(stdout).not.toContain(token);
    for (const log of ['control-plane.log', 'agent-gw-3.log', 'audit.jsonl']) {
      expect(readFileSync(join(out, log), 'utf8'), log).not.toContain(token);
    }

    // v1: never seen, then every node in sync on the v1 commit.
    expect(table(stdout, 'after PUT desired (deadline 120 s)')['gw-1']![0]).toBe('never_seen');
    for (const node of ['gw-1', 'gw-2', 'gw-3']) {
      expect(table(stdout, 'once every gateway reported')[node]).toMatchObject([
        'in_sync',
        expect.any(String),
        expect.any(String),
        '4f1c2a9e7b',
      ]);
    }
    // The edit: gw-3 drifts, the alert's signature verifies, the audit trail records it.
    expect(table(stdout, 'after the edit')['gw-3']![0]).toBe('drift');
    expect(stdout).toContain(
      'webhook: ConfigurationDrift (drift.detected) for gw-3, Plumbline-Signature verified',
    );
    // v2 with a deadline: pending, then in sync everywhere, each node showing the v2 commit
    // (gw-3, behind the agent, included).
    const pending = table(stdout, 'after PUT desired v2 (deadline 30 s)');
    expect(pending['gw-1']![0]).toBe('pending');
    expect(pending['gw-2']![0]).toBe('pending');
    const synced = table(stdout, 'after the three nodes restarted on v2');
    for (const node of ['gw-1', 'gw-2', 'gw-3']) {
      expect(synced[node]![0], node).toBe('in_sync');
      expect(synced[node]![1], node).toBe(synced[node]![2]);
      expect(synced[node]![3], node).toBe('9a8b7c6d5e');
    }
    expect(stdout).toContain('all signatures verified: true');
    // The out-of-band change through Caddy's admin API: a real Caddy on this machine (CI installs
    // it); the stand-in is the next test's.
    expect(stdout).toMatch(
      /edge-1: Caddy \(real, caddy run\) with its admin API on http:\/\/127\.0\.0\.1:\d+\n/,
    );
    expect(stdout).not.toContain('STAND-IN');
    expectOutOfBandStep(stdout);
    expect(stdout).toMatch(/Done: the story took/);
    expect(stdout).not.toContain('Press Enter');

    for (const file of [
      'v1.plb',
      'v2.plb',
      'v1.cdx.json',
      'v1.labels.json',
      'keys/release.pub.pem',
    ]) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
    const labels = JSON.parse(readFileSync(join(out, 'v1.labels.json'), 'utf8')) as Record<
      string,
      string
    >;
    expect(labels['org.opencontainers.image.revision']).toBe(
      '4f1c2a9e7b3d5c8e1f0a2b4c6d8e0f1a3b5c7d9e',
    );
    const audit = readFileSync(join(out, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(audit.some((e) => JSON.stringify(e).includes('drift.detected'))).toBe(true);

    // Nothing listens any more.
    const dashboard = /dashboard: (\S+)/.exec(stdout)![1]!;
    await expect(fetch(dashboard)).rejects.toThrow();
  }, 60_000);

  it('without Caddy on PATH, shows the out-of-band change on a labelled stand-in', async () => {
    // A PATH with no caddy on it (the demo itself runs with an absolute node path).
    const empty = join(root, 'no-caddy');
    mkdirSync(empty);
    const child = demo(join(root, 'stand-in'), ['--exit'], { PATH: empty });
    child.stdin.end();
    const run = collect(child);
    expect(await run.exit, run.stderr()).toBe(0);
    const stdout = run.stdout();
    expect(stdout).toContain('edge-1: STAND-IN for Caddy (caddy is not on PATH)');
    expect(stdout).toMatch(/answering Caddy's admin API \(GET \/config\/, POST \/load\) on http:/);
    expect(stdout).not.toContain('caddy run');
    expectOutOfBandStep(stdout);
  }, 90_000);

  it('prints commands that run as shown from the repository root, followed by their real output', () => {
    expect(story).toContain('$ plumbline oci-labels');
    // `plumbline` on PATH is the package's bin, as node_modules/.bin/plumbline is after `npm ci`.
    const bin = join(root, 'bin');
    mkdirSync(bin);
    symlinkSync(join(repo, 'packages', 'cli', 'bin', 'plumbline.js'), join(bin, 'plumbline'));
    const lines = story
      .split('\n')
      .filter((l) => /^\$ plumbline (manifest|verify-proof|inspect|oci-labels|diff) /.test(l));
    expect(lines.length).toBe(5);
    for (const line of lines) {
      const result = spawnSync('sh', ['-c', line.slice(2)], {
        cwd: repo,
        encoding: 'utf8',
        env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
      });
      expect(result.status, line).toBe(line.includes(' diff ') ? 1 : 0);
      expect(result.stdout.length, line).toBeGreaterThan(0);
      expect(story, line).toContain(`${line}\n${result.stdout}`);
    }
  }, 120_000);

  it('with --keep-open, keeps the fleet and the dashboard up until Enter', async () => {
    const out = join(root, 'open');
    const child = demo(out, ['--keep-open']);
    const run = collect(child);
    const end = Date.now() + 50_000;
    while (!run.stdout().includes('Press Enter')) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(run.stdout() + run.stderr());
      await new Promise((r) => setTimeout(r, 50));
    }
    const dashboard = /dashboard: (\S+)/.exec(run.stdout())![1]!;
    const page = await fetch(dashboard);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    await page.arrayBuffer();
    const token = readFileSync(join(out, 'admin.token'), 'utf8').trim();
    const fleet = await fetch(new URL('/v1/fleet', dashboard), {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await fleet.json()) as { nodes: { node_id: string; state: string }[] };
    expect(body.nodes.map((n) => [n.node_id, n.state]).sort()).toEqual([
      ['edge-1', 'in_sync'],
      ['gw-1', 'in_sync'],
      ['gw-2', 'in_sync'],
      ['gw-3', 'in_sync'],
    ]);
    expect(run.stdout()).not.toMatch(/Done:/);
    child.stdin.write('\n');
    expect(await run.exit).toBe(0);
    expect(run.stderr()).toBe('');
    expect(run.stdout()).toMatch(/Done: the story took/);
    await expect(fetch(dashboard)).rejects.toThrow();
  }, 60_000);

  it('refuses an unknown option with exit code 2', async () => {
    const child = demo(join(root, 'usage'), ['--forever']);
    child.stdin.end();
    const run = collect(child);
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toContain('PLB_USAGE: unknown option --forever');
  }, 30_000);
});
