import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plumbline-probe-flags-'));
  await writeFile(join(dir, 'node.token'), 'token\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const agent = (...extra: string[]) =>
  runCli([
    'agent',
    '--artifact',
    join(dir, 'none.plb'),
    '--control-plane',
    'ws://127.0.0.1:1/ws/data-plane',
    '--node-id',
    'a',
    '--cluster',
    'c',
    '--token-file',
    join(dir, 'node.token'),
    ...extra,
  ]);

describe('plumbline agent --probe flags', () => {
  it.each([
    [['--probe', 'caddy'], '--probe takes KIND=TARGET'],
    [
      ['--probe', 'envoy=http://x'],
      '--probe kind must be caddy, nginx, haproxy, http-json or command',
    ],
    [
      ['--probe', 'caddy=http://x', '--probe-format', 'json'],
      '--probe-format applies to command probes only',
    ],
    [
      ['--probe', 'nginx=/run/nginx.pid', '--probe-pointer', '/a'],
      '--probe-pointer and --probe-ignore apply to http-json probes only',
    ],
    [['--probe', 'command=cat x', '--probe-format', 'yaml'], '--probe-format must be one of'],
    [['--probe-interval', '1s'], '--probe-interval needs --probe'],
  ])('refuses %j with PLB_USAGE', async (flags, message) => {
    const cli = await agent(...flags);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain(`PLB_USAGE: ${message}`);
  });

  it('refuses a probe URL that is not http(s) with PLB_PROBE_INVALID_OPTION', async () => {
    const cli = await agent('--probe', 'caddy=file:///etc/passwd');
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('PLB_PROBE_INVALID_OPTION');
  });
});
