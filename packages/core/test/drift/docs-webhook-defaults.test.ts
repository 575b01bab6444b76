import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookSink, type FleetEvent } from '@plumbline/core/drift';
import { A, B } from './helpers.js';

// docs/protocol.md "Webhooks": "retried up to `maxAttempts` (default 8)" and "The queue holds
// `queueSize` events (default 1,000) and drops the oldest when full". Read from the doc and
// exercised against a real HTTP server with no such options given.
const doc = readFileSync(new URL('../../../../docs/protocol.md', import.meta.url), 'utf8').replace(
  /\s+/g,
  ' ',
);
const number = (re: RegExp): number => Number(re.exec(doc)![1]!.replaceAll(',', ''));
const maxAttempts = number(/`maxAttempts` \(default (\d+)\)/);
const queueSize = number(/holds `queueSize` events \(default ([\d,]+)\) and drops the oldest/);

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function failing(): Promise<{ url: string; requests: () => number }> {
  let n = 0;
  const server = createServer((req, res) => {
    n += 1;
    req.resume();
    res.writeHead(503).end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, requests: () => n };
}

const event = (id: string): FleetEvent =>
  ({
    type: 'drift.detected',
    id,
    at: '2026-01-01T00:00:00.000Z',
    node_id: 'gw-1',
    cluster: 'prod',
    state: 'drift',
    from: 'in_sync',
    reported_hash: B,
    desired_hash: A,
    instance_id: 'i-1',
    provenance: null,
    workers: null,
  }) as FleetEvent;

describe('docs/protocol.md: webhook defaults', () => {
  it(`gives up on an event after maxAttempts (${maxAttempts}) attempts`, async () => {
    const { url, requests } = await failing();
    // Full jitter with random() = 0: every backoff is 0 ms, so only the attempt count matters.
    const sink = new WebhookSink({ url, secret: 'whsec-docs', random: () => 0 });
    sink.send(event('e-1'));
    await sink.flush();
    expect(requests()).toBe(maxAttempts);
    expect(sink.stats()).toMatchObject({ dropped: 1, delivered: 0 });
    await sink.close();
  });

  it(`holds queueSize (${queueSize}) events and drops the oldest beyond`, async () => {
    const { url } = await failing();
    const sink = new WebhookSink({ url, secret: 'whsec-docs', closeTimeoutMs: 10 });
    for (let i = 0; i < queueSize + 5; i++) sink.send(event(`e-${i}`));
    expect(sink.stats()).toMatchObject({ accepted: queueSize + 5, dropped: 5, queued: queueSize });
    await sink.close();
  });
});
