/**
 * `--replica-timeout` and `--sweep-interval` (and their config-file keys): checked durations
 * handed to the PostgreSQL store, with the replica heartbeat following the timeout.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneOptionsFrom } from '../../src/commands/control-plane.js';
import type { CommandContext } from '../../src/context.js';

let dir: string;
let context: CommandContext;
const quiet = { write: () => true, isTTY: false };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plb-cp-timings-'));
  await writeFile(join(dir, 'admin.token'), 'admin-token-value-51c2\n');
  await writeFile(
    join(dir, 'cp.json'),
    JSON.stringify({ 'replica-timeout': '6s', 'sweep-interval': '250ms' }),
  );
  context = {
    io: { stdout: quiet, stderr: quiet, env: {}, cwd: dir },
  } as unknown as CommandContext;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = {
  listen: '127.0.0.1:0',
  adminListen: '127.0.0.1:0',
  adminTokenFile: 'admin.token',
  nodeTokens: 'tokens.json',
  store: 'postgres://127.0.0.1/db',
};
type Flags = Parameters<typeof controlPlaneOptionsFrom>[0];

describe('the PostgreSQL store timings', () => {
  it('are absent by default (the store keeps its 15 s and 5 s)', async () => {
    expect((await controlPlaneOptionsFrom(base, context)).timings).toEqual({});
  });

  it('come from the flags, the replica heartbeat a third of the timeout (at most 5 s)', async () => {
    const short = await controlPlaneOptionsFrom(
      { ...base, replicaTimeout: '3s', sweepInterval: '500ms' },
      context,
    );
    expect(short.timings).toEqual({
      replicaTimeoutMs: 3000,
      replicaHeartbeatMs: 1000,
      sweepIntervalMs: 500,
    });
    const long = await controlPlaneOptionsFrom({ ...base, replicaTimeout: '1m' }, context);
    expect(long.timings).toEqual({ replicaTimeoutMs: 60_000, replicaHeartbeatMs: 5000 });
  });

  it('come from the config file, under the flags', async () => {
    const fromFile = await controlPlaneOptionsFrom({ ...base, config: 'cp.json' }, context);
    expect(fromFile.timings).toEqual({
      replicaTimeoutMs: 6000,
      replicaHeartbeatMs: 2000,
      sweepIntervalMs: 250,
    });
    const flagWins = await controlPlaneOptionsFrom(
      { ...base, config: 'cp.json', sweepInterval: '2s' },
      context,
    );
    expect(flagWins.timings?.sweepIntervalMs).toBe(2000);
  });

  it.each([
    [{ ...base, replicaTimeout: '500ms' }, '--replica-timeout must be an integer >= 1000'],
    [{ ...base, sweepInterval: '50ms' }, '--sweep-interval must be an integer >= 100'],
    [{ ...base, sweepInterval: 'soon' }, '--sweep-interval: expected a duration'],
    [
      { ...base, store: undefined, replicaTimeout: '3s' },
      '--replica-timeout and --sweep-interval need --store',
    ],
  ] as [Flags, string][])('refuses %j', async (flags, message) => {
    await expect(controlPlaneOptionsFrom(flags, context)).rejects.toThrow(
      expect.objectContaining({ code: 'PLB_USAGE', message: expect.stringContaining(message) }),
    );
  });
});
