import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCaddyProbe, createHttpJsonProbe } from '@plumbline/core/probe';
import { createCommandProbe, createNginxProbe } from '@plumbline/core/probe/node';
import { describeProbeConformance } from '@plumbline/core/testing';
import { startCaddy, startNginx } from '@plumbline/testkit/gateways';

const enc = new TextEncoder();

await describeProbeConformance(
  'Caddy (a real Caddy)',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plumbline-caddy-'));
    const caddy = await startCaddy(dir);
    let config: Record<string, unknown> = caddy.config;
    return {
      probe: createCaddyProbe({ url: caddy.adminUrl, timeoutMs: 2000 }),
      payload: async () => enc.encode(JSON.stringify(config)),
      change: async () => {
        config = { ...caddy.config, logging: { logs: { default: { level: 'WARN' } } } };
        await caddy.load(config);
      },
      stop: () => caddy.stop(),
      dispose: async () => {
        await caddy.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { timeoutMs: 20_000 },
);

await describeProbeConformance(
  'NGINX (a real NGINX)',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plumbline-nginx-'));
    const nginx = await startNginx(dir);
    return {
      probe: createNginxProbe({ pidFile: nginx.pidFile }),
      payload: () => nginx.payload(),
      change: async () => {
        await nginx.write(nginx.configWith('changed'));
        await nginx.reload();
      },
      stop: () => nginx.stop(),
      dispose: async () => {
        await nginx.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { timeoutMs: 45_000 },
);

await describeProbeConformance('HTTP JSON (a loopback server)', async () => {
  let body = { routes: [{ path: '/a', upstream: 'http://10.0.0.1' }] };
  const server = createServer((_req, res) => res.end(JSON.stringify(body, null, 1)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    probe: createHttpJsonProbe({ url: `http://127.0.0.1:${port}/config`, timeoutMs: 1000 }),
    payload: async () => enc.encode(JSON.stringify(body)),
    change: async () => {
      body = { routes: [{ path: '/b', upstream: 'http://10.0.0.2' }] };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    dispose: async () => {
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    },
  };
});

await describeProbeConformance('command (cat of a JSON file)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'plumbline-command-'));
  const file = join(dir, 'config.json');
  await writeFile(file, '{ "b": 2, "a": 1 }');
  return {
    probe: createCommandProbe({ command: 'cat', args: [file], format: 'json' }),
    payload: async () => new Uint8Array(await readFile(file)),
    change: () => writeFile(file, '{ "b": 3, "a": 1 }'),
    stop: () => rm(file, { force: true }),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});
