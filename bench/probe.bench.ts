/**
 * Live-configuration probe cycle on a 1 MiB JSON configuration served over loopback HTTP (a Caddy
 * admin API stand-in): the HTTP JSON probe (bounded fetch, parse, secret redaction, RFC 8785,
 * SHA-256) against fetching the same bytes and hashing them raw, the least any probe must do.
 * Latency is the median of a cycle; CPU is user+system time per cycle.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpJsonProbe } from '@plumbline/core/probe';
import { median, report } from './lib/report.js';

const ROUNDS = 40;

/** A Caddy-like configuration of about `bytes` bytes: many routes with upstreams and secrets. */
function configOf(bytes: number): string {
  const routes: unknown[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const route = {
      match: [{ host: [`svc-${i}.example.com`], path: [`/api/v${i % 7}/*`] }],
      handle: [
        {
          handler: 'reverse_proxy',
          upstreams: [{ dial: `10.0.${(i >> 8) & 255}.${i & 255}:8080` }],
          headers: { request: { set: { Authorization: [`Bearer tok-${i}-abcdef0123456789`] } } },
          transport: { protocol: 'http', tls: { client_certificate_key_file: `/keys/${i}.pem` } },
        },
      ],
    };
    size += JSON.stringify(route).length + 1;
    routes.push(route);
  }
  return JSON.stringify({ apps: { http: { servers: { main: { listen: [':443'], routes } } } } });
}

async function measure(cycle: () => Promise<void>): Promise<{ ms: number; cpuMs: number }> {
  for (let i = 0; i < 5; i++) await cycle();
  const times: number[] = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    await cycle();
    times.push(performance.now() - start);
  }
  const used = process.cpuUsage(cpu);
  return { ms: median(times), cpuMs: (used.user + used.system) / 1000 / ROUNDS };
}

export async function run(): Promise<void> {
  const body = configOf(1024 * 1024);
  const server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/config/`;
  try {
    const probe = createHttpJsonProbe({ url });
    const raw = await measure(async () => {
      const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
      createHash('sha256').update(bytes).digest();
    });
    const cycle = await measure(async () => {
      const result = await probe.probe();
      if (result.status === 'failing') throw new Error(result.code);
    });
    const mib = (body.length / 2 ** 20).toFixed(2);
    report({
      name: `probe cycle, ${mib} MiB JSON (latency)`,
      value: cycle.ms,
      unit: 'ms',
      baseline: { name: 'fetch + SHA-256 raw', value: raw.ms },
      higherIsBetter: false,
    });
    report({
      name: `probe cycle, ${mib} MiB JSON (CPU per cycle)`,
      value: cycle.cpuMs,
      unit: 'ms',
      baseline: { name: 'fetch + SHA-256 raw', value: raw.cpuMs },
      higherIsBetter: false,
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
