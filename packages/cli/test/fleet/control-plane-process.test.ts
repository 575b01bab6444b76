import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import WebSocket from 'ws';
import { hashToken } from '@plumbline/ws';
import { runCli, spawnCli, until } from '../helpers.js';

function raw(
  url: string,
  token: string,
): Promise<{ ws: WebSocket; frames: string[]; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    const frames: string[] = [];
    ws.on('message', (d) => frames.push(d.toString()));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.once('open', () => resolve({ ws, frames, closed }));
    ws.once('error', reject);
  });
}

const HELLO = JSON.stringify({
  type: 'hello',
  protocol: 'plumbline.drift/v1',
  node_id: 'gw-1',
  cluster: 'prod',
  instance_id: 'i-1',
  artifact_hash: null,
});

describe('plumbline control-plane (process)', () => {
  let dir: string;
  let child: ChildProcess;
  let listening: { event: string; ws: string; admin: string };
  let stderr = '';
  const exited = (): Promise<number | null> =>
    new Promise((r) => child.once('exit', (code) => r(code)));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumbline-cp-'));
    await writeFile(
      join(dir, 'node-tokens.json'),
      JSON.stringify({ 'gw-1': { cluster: 'prod', token_sha256: hashToken('token-gw-1') } }),
    );
    await writeFile(join(dir, 'admin.token'), 'admin-secret\n');
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({
        listen: '127.0.0.1:1',
        'heartbeat-interval': '1s',
        limits: {
          'max-frame-bytes': 2048,
          'messages-per-second': 5,
          'message-burst': 5,
          'handshake-timeout': '500ms',
        },
      }),
    );
    child = spawnCli([
      'control-plane',
      '--config',
      join(dir, 'config.json'),
      '--listen',
      '127.0.0.1:0',
      '--admin-listen',
      '127.0.0.1:0',
      '--node-tokens',
      join(dir, 'node-tokens.json'),
      '--admin-token-file',
      join(dir, 'admin.token'),
      '--state-file',
      join(dir, 'state.json'),
    ]);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const line = await until(
      () => out.split('\n').find((l) => l.startsWith('{')),
      'the listening line',
    );
    listening = JSON.parse(line) as typeof listening;
  });

  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('prints one listening line with both URLs (flags override the config)', () => {
    expect(Object.keys(listening)).toEqual(['event', 'ws', 'admin']);
    expect(listening.event).toBe('listening');
    expect(listening.ws).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws\/data-plane$/);
    expect(listening.admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(listening.ws).not.toContain(':1/');
  });

  it('closes malformed, oversized, flooding and slow-loris connections and stays healthy', async () => {
    const malformed = await raw(listening.ws, 'token-gw-1');
    malformed.ws.send('{"type":');
    expect(await malformed.closed).toBe(4400);
    const big = await raw(listening.ws, 'token-gw-1');
    big.ws.send(JSON.stringify({ type: 'hello', pad: 'x'.repeat(4096) }));
    expect(await big.closed).toBe(1009);
    const flood = await raw(listening.ws, 'token-gw-1');
    flood.ws.send(HELLO);
    for (let i = 1; i <= 40; i++)
      flood.ws.send(JSON.stringify({ type: 'heartbeat', seq: i, artifact_hash: null }));
    expect(await flood.closed).toBe(4429);
    const port = Number(new URL(listening.ws).port);
    const slow = netConnect(port, '127.0.0.1');
    // The control plane destroys this connection: a reset is expected here.
    slow.on('error', () => {});
    slow.write('GET /ws/data-plane HTTP/1.1\r\nHost: x\r\n');
    await new Promise<void>((r) => slow.once('close', () => r()));
    await expect(raw(listening.ws, 'not-a-token')).rejects.toThrow(/401/);

    const health = await fetch(`${listening.admin}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (
      await fetch(`${listening.admin}/metrics`, {
        headers: { authorization: 'Bearer admin-secret' },
      })
    ).text();
    expect(metrics).toContain('plumbline_ws_limit_violations_total{kind="frame_too_big"} 1');
    expect(metrics).toContain('plumbline_ws_limit_violations_total{kind="rate_limited"} 1');
    expect(metrics).toContain('plumbline_ws_limit_violations_total{kind="handshake_timeout"} 1');
    expect(metrics).toContain('plumbline_ws_upgrades_rejected_total{reason="unauthenticated"} 1');
    expect(metrics).toContain('plumbline_messages_rejected_total{reason="malformed"} 1');
    const ok = await raw(listening.ws, 'token-gw-1');
    ok.ws.send(HELLO);
    await until(() => ok.frames.length > 0, 'welcome');
    expect(JSON.parse(ok.frames[0]!)).toMatchObject({
      type: 'welcome',
      heartbeat_interval_ms: 1000,
    });
    const closed = ok.closed;
    // SIGTERM: sessions close with 1001, the state is flushed and the process exits 0.
    const exit = exited();
    child.kill('SIGTERM');
    expect(await closed).toBe(1001);
    expect(await exit).toBe(0);
    const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as {
      observed?: Array<{ node_id: string }>;
    };
    expect(JSON.stringify(state)).toContain('gw-1');
    expect(stderr).not.toContain('admin-secret');
    expect(stderr).not.toContain('token-gw-1');
    for (const line of stderr.split('\n').filter(Boolean))
      expect(() => JSON.parse(line)).not.toThrow();
  });
});

describe('plumbline control-plane (usage)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumbline-cp-usage-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('hash-token prints the SHA-256 of the token on stdin', async () => {
    const result = await runCli(['control-plane', 'hash-token'], { stdin: 'abc\n' });
    expect(result).toEqual({
      code: 0,
      stdout: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n',
      stderr: '',
    });
    const json = await runCli(['control-plane', 'hash-token', '--json'], { stdin: 'abc' });
    expect(JSON.parse(json.stdout)).toEqual({
      token_sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    });
    const empty = await runCli(['control-plane', 'hash-token'], { stdin: '\n' });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/^plumbline: PLB_USAGE: /);
  });

  it.each([
    [{ listen: 'nope' }, 'listen: expected HOST:PORT'],
    [{ limits: { 'max-frame-bytes': -1 } }, 'limits.max-frame-bytes: expected a positive integer'],
    [{ limits: { 'max-frames': 1 } }, 'limits.max-frames: unknown key'],
    [{ webhook: 'ftp://x' }, 'webhook: expected an http(s) URL'],
    [{ 'heartbeat-interval': 'soon' }, 'heartbeat-interval: expected a duration'],
    [{ protocol: 'grpc' }, 'protocol: '],
    [{ schema: 'Bad-Name' }, 'schema: expected 1-40 lower-case letters'],
  ])('refuses config %j naming the key', async (config, message) => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify(config));
    const result = await runCli(['control-plane', '--config', file], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PLB_CONFIG_INVALID');
    expect(result.stderr).toContain(message);
  });

  it('takes the protocol and Barbacane keys from the config file like the flags', async () => {
    const file = join(dir, 'protocol.json');
    await writeFile(join(dir, 'protocol-admin.token'), 'a\n');
    await writeFile(
      file,
      JSON.stringify({
        listen: '127.0.0.1:0',
        'admin-listen': '127.0.0.1:0',
        'admin-token-file': join(dir, 'protocol-admin.token'),
        protocol: 'barbacane',
      }),
    );
    const result = await runCli(['control-plane', '--config', file], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--protocol barbacane needs --barbacane-keys FILE');
    const schemaOnly = join(dir, 'schema.json');
    await writeFile(schemaOnly, JSON.stringify({ schema: 'fleet' }));
    await writeFile(
      join(dir, 'protocol-tokens.json'),
      JSON.stringify({ 'gw-1': { cluster: 'c', token_sha256: 'a'.repeat(64) } }),
    );
    const noStore = await runCli(
      [
        'control-plane',
        '--config',
        schemaOnly,
        '--listen',
        '127.0.0.1:0',
        '--admin-listen',
        '127.0.0.1:0',
        '--admin-token-file',
        join(dir, 'protocol-admin.token'),
        '--node-tokens',
        join(dir, 'protocol-tokens.json'),
      ],
      { cwd: dir },
    );
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toContain('--schema needs --store');
  });

  it('refuses missing flags and bad node tokens with usage errors', async () => {
    const missing = await runCli(['control-plane', '--listen', '127.0.0.1:0'], { cwd: dir });
    expect(missing.stderr).toContain('--admin-listen');
    await writeFile(join(dir, 'admin.token'), 'a\n');
    await writeFile(
      join(dir, 'tokens.json'),
      JSON.stringify({ 'gw-1': { cluster: 'c', token_sha256: 'abc' } }),
    );
    const badTokens = await runCli(
      [
        'control-plane',
        '--listen',
        '127.0.0.1:0',
        '--admin-listen',
        '127.0.0.1:0',
        '--admin-token-file',
        'admin.token',
        '--node-tokens',
        'tokens.json',
        '--state-file',
        'state.json',
      ],
      { cwd: dir },
    );
    expect(badTokens.code).toBe(2);
    expect(badTokens.stderr).toContain(
      'PLB_WS_NODE_TOKENS_INVALID: node tokens: gw-1.token_sha256',
    );
  });
});
