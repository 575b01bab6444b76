import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneOptionsFrom } from '../../src/commands/control-plane.js';
import type { CommandContext } from '../../src/context.js';
import { runCli } from '../helpers.js';

let dir: string;
let context: CommandContext;
const stderr = { write: () => true, isTTY: false };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plb-cp-options-'));
  await writeFile(join(dir, 'admin.token'), 'admin-token-value-3f9a\n');
  await writeFile(join(dir, 'hook.secret'), 'hook-secret-value-77c1\n');
  await writeFile(join(dir, 'audit.pem'), 'PEM TEXT');
  context = {
    io: { stdout: stderr, stderr, env: {}, cwd: dir },
    exit: () => undefined,
    printJson: () => undefined,
    print: () => undefined,
    note: () => undefined,
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
};
type Flags = Parameters<typeof controlPlaneOptionsFrom>[0];
/** The base flags without `key`. */
const omit = (key: keyof typeof base): Flags =>
  Object.fromEntries(Object.entries(base).filter(([k]) => k !== key));

describe('control-plane flags and config file', () => {
  it.each([
    [omit('listen'), '--listen HOST:PORT is required'],
    [omit('adminListen'), '--admin-listen HOST:PORT is required'],
    [
      { ...base, listen: '127.0.0.1:9000', adminListen: '127.0.0.1:9000' },
      'the admin listener must be separate',
    ],
    [omit('adminTokenFile'), '--admin-token-file FILE is required'],
    [{ ...base, protocol: 'barbacane' }, '--protocol barbacane needs --barbacane-keys FILE'],
    [
      { ...base, barbacaneKeys: 'keys.json' },
      '--barbacane-keys needs --protocol barbacane or both',
    ],
    [omit('nodeTokens'), '--node-tokens FILE is required'],
    [
      { ...base, stateFile: 's.json', store: 'postgres://x/db' },
      'give either --state-file or --store',
    ],
    [{ ...base, schema: 'fleet' }, '--schema needs --store'],
    [{ ...base, webhook: 'https://h.example/x' }, '--webhook needs --webhook-secret-file'],
    [
      { ...base, webhook: 'ftp://h.example/x', webhookSecretFile: 'hook.secret' },
      '--webhook must be an http(s) URL',
    ],
    [{ ...base, auditKey: 'audit.pem' }, '--audit-key needs --audit-log'],
    [{ ...base, logLevel: 'loud' }, '--log-level must be debug, info, warn or error'],
  ] as [Flags, string][])('refuses %j', async (flags, message) => {
    await expect(controlPlaneOptionsFrom(flags, context)).rejects.toThrow(
      expect.objectContaining({ code: 'PLB_USAGE', message: expect.stringContaining(message) }),
    );
  });

  it('merges the config file under the flags and reads the secrets it names', async () => {
    await writeFile(
      join(dir, 'cp.json'),
      JSON.stringify({
        listen: '127.0.0.1:7000',
        'admin-listen': '127.0.0.1:7001',
        'admin-token-file': 'admin.token',
        'node-tokens': 'from-config.json',
        'heartbeat-interval': 2,
        'stale-after': 4,
        webhook: 'https://alerts.example/plb',
        'webhook-secret-file': 'hook.secret',
        'audit-log': 'audit.jsonl',
        'audit-key': 'audit.pem',
        'log-level': 'warn',
        store: 'postgres://db.example/fleet',
        schema: 'fleet_a',
      }),
    );
    const { options, storeUrl, schema } = await controlPlaneOptionsFrom(
      { config: 'cp.json', listen: '127.0.0.1:7100', nodeTokens: 'flag.json' },
      context,
    );
    expect(storeUrl).toBe('postgres://db.example/fleet');
    expect(schema).toBe('fleet_a');
    expect(options).toMatchObject({
      listen: { host: '127.0.0.1', port: 7100 },
      adminListen: { host: '127.0.0.1', port: 7001 },
      adminToken: 'admin-token-value-3f9a',
      nodeTokens: join(dir, 'flag.json'),
      store: join(dir, 'plumbline-state.json'),
      heartbeatIntervalMs: 2000,
      staleAfterIntervals: 4,
      webhook: { url: 'https://alerts.example/plb', secret: 'hook-secret-value-77c1' },
      audit: { path: join(dir, 'audit.jsonl'), keyPem: 'PEM TEXT' },
      logLevel: 'warn',
    });
    expect(options).not.toHaveProperty('protocol');
  });

  it('passes the Barbacane protocol and keys, and a state file', async () => {
    const { options, storeUrl } = await controlPlaneOptionsFrom(
      {
        ...omit('nodeTokens'),
        protocol: 'barbacane',
        barbacaneKeys: 'keys.json',
        stateFile: 'fleet.json',
      },
      context,
    );
    expect(storeUrl).toBeUndefined();
    expect(options).toMatchObject({
      protocol: 'barbacane',
      barbacaneKeys: join(dir, 'keys.json'),
      store: join(dir, 'fleet.json'),
      logLevel: 'info',
    });
    expect(options).not.toHaveProperty('nodeTokens');
    expect(options).not.toHaveProperty('webhook');
  });
});

describe('agent flags', () => {
  it('refuses a log level it does not know, in the words of the control plane', async () => {
    const result = await runCli(
      [
        'agent',
        '--artifact',
        'a.plb',
        '--control-plane',
        'ws://127.0.0.1:1/ws/data-plane',
        '--node-id',
        'gw-1',
        '--cluster',
        'prod',
        '--token-file',
        'node.token',
        '--log-level',
        'loud',
      ],
      { cwd: dir },
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--log-level must be debug, info, warn or error');
  });
});
