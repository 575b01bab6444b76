/**
 * Admin endpoint throughput: GET /_admin/provenance on the Node admin listener (token auth,
 * rate limiter on, ETag, security headers) against a bare node:http handler returning the same
 * bytes and headers, both driven by autocannon with 50 connections from a second process.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { createAdminHandler, hashAdminToken } from '@plumbline/core/admin';
import { formatDigest, sha256, utf8 } from '@plumbline/core/hash';
import { startAdminListener } from '@plumbline/core/node';
import { LoadedArtifactRegistry, verifyOnLoad } from '@plumbline/core/verify';
import { median, report } from './lib/report.js';

const run$ = promisify(execFile);
const require = createRequire(import.meta.url);
const AUTOCANNON = require.resolve('autocannon/autocannon.js');
const TOKEN = 'bench-admin-token-5c1d0b';
const CONNECTIONS = 50;
const DURATION_S = Number(process.env['ADMIN_BENCH_SECONDS'] ?? 5);
const ROUNDS = 4;

interface Result {
  rps: number;
  p99: number;
}

async function autocannon(url: string): Promise<Result> {
  const { stdout } = await run$(
    process.execPath,
    [
      AUTOCANNON,
      '-c',
      String(CONNECTIONS),
      '-d',
      String(DURATION_S),
      '-j',
      '-H',
      `authorization=Bearer ${TOKEN}`,
      url,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const json = JSON.parse(stdout) as {
    requests: { average: number };
    latency: { p99: number };
    non2xx: number;
    errors: number;
  };
  if (json.non2xx > 0 || json.errors > 0) {
    throw new Error(`${url}: ${json.non2xx} non-2xx responses, ${json.errors} errors`);
  }
  return { rps: json.requests.average, p99: json.latency.p99 };
}

export async function run(): Promise<void> {
  const payload = utf8('{"routes":[]}');
  const registry = new LoadedArtifactRegistry();
  const artifactHash = formatDigest(sha256(utf8('bench inputs')));
  await verifyOnLoad(
    {
      kind: 'container',
      header: {
        format: 'plumbline.header/v1',
        artifact_hash: artifactHash,
        hash_alg: 'sha256',
        build_timestamp: '2026-11-01T00:00:00Z',
        provenance: {
          commit: 'c'.repeat(40),
          source: 'github.com/acme/gateway-config',
          ref: 'refs/heads/main',
          builder: { id: 'acme-compiler', version: '1.0.0' },
        },
        inputs: [],
        payload: {
          digest: formatDigest(sha256(payload)),
          size: payload.length,
          media_type: 'application/json',
        },
        extensions: {},
      },
      headerBytes: utf8('header'),
      artifactDigest: formatDigest(sha256(utf8('container'))),
      payload,
    },
    { mode: 'enforce' },
    { registry },
  );
  const handler = createAdminHandler({
    source: registry,
    auth: { tokens: [{ id: 'bench', sha256: hashAdminToken(TOKEN) }] },
    rateLimit: { requestsPerSecond: 1e9, burst: 1e9 },
  });
  // The load generator is one client address with CONNECTIONS sockets: lift the per-client cap
  // (32 by default) to that, as a deployment behind one proxy would.
  const admin = await startAdminListener({ handler, maxConnectionsPerClient: CONNECTIONS });

  // The bare baseline serves exactly the bytes and headers the admin handler does.
  const sample = await handler(
    new Request(`${admin.url}/_admin/provenance`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    }),
  );
  const body = Buffer.from(await sample.arrayBuffer());
  const headers: Record<string, string> = {};
  sample.headers.forEach((value, key) => (headers[key] = value));
  const bare = http.createServer((_req, res) => {
    res.writeHead(200, headers);
    res.end(body);
  });
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  const address = bare.address() as { port: number };
  const bareUrl = `http://127.0.0.1:${address.port}/_admin/provenance`;
  const oursUrl = `${admin.url}/_admin/provenance`;

  const ours: Result[] = [];
  const base: Result[] = [];
  try {
    // Alternate the order each round so drift in the shared machine's load hits both alike.
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        base.push(await autocannon(bareUrl));
        ours.push(await autocannon(oursUrl));
      } else {
        ours.push(await autocannon(oursUrl));
        base.push(await autocannon(bareUrl));
      }
    }
  } finally {
    await admin.close({ graceMs: 1000 });
    await new Promise<void>((resolve) => bare.close(() => resolve()));
  }
  const rps = median(ours.map((r) => r.rps));
  const baseRps = median(base.map((r) => r.rps));
  report({
    name: `admin GET /_admin/provenance, ${CONNECTIONS} connections (${body.length} B body, median of ${ROUNDS})`,
    value: rps,
    unit: 'req/s',
    baseline: { name: 'bare node:http, same bytes', value: baseRps },
    higherIsBetter: true,
    target: '>= 70% of bare',
    met: rps >= 0.7 * baseRps,
  });
  report({
    name: 'admin GET /_admin/provenance p99 latency',
    value: median(ours.map((r) => r.p99)),
    unit: 'ms',
    baseline: { name: 'bare node:http p99', value: median(base.map((r) => r.p99)) },
    higherIsBetter: false,
  });
}
