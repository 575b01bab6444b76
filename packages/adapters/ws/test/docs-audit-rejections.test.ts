import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createMemoryAuditLogger } from '@plumbline/core/audit';
import { FleetMonitor } from '@plumbline/core/drift';
import { createControlPlaneServer, createTokenAuthenticator, hashToken } from '../src/index.js';

// The README: "audit: refused sessions are written as `session.rejected`", and docs/audit.md's
// reason codes `rate_limited` and `too_large`: a session the WebSocket endpoint closes for
// flooding or for an oversized frame is audited like any other refusal.
const nodes = { 'gw-1': { cluster: 'prod', token_sha256: hashToken('tok-1') } };
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function start() {
  const monitor = await FleetMonitor.create({ heartbeatIntervalMs: 1000 });
  const { logger, sink } = createMemoryAuditLogger({
    source: { component: 'control-plane' },
    rateLimit: false,
  });
  const server = await createControlPlaneServer({
    monitor,
    auth: createTokenAuthenticator({ nodes }),
    audit: logger,
    limits: { messagesPerSecond: 1, messageBurst: 2, maxFrameBytes: 1024, helloTimeoutMs: 50 },
  });
  close = async () => {
    await server.close();
    await monitor.close();
  };
  const connect = async () => {
    const ws = new WebSocket(server.url, { headers: { authorization: 'Bearer tok-1' } });
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return { ws, closed };
  };
  // The server sees the close after the client does: wait for the event (bounded).
  const rejected = async () => {
    for (let i = 0; i < 500; i++) {
      await logger.flush();
      const events = sink.events.filter((e) => e.type === 'session.rejected');
      if (events.length > 0) return events;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return [];
  };
  return { connect, rejected };
}

const hello = JSON.stringify({
  type: 'hello',
  protocol: 'plumbline.drift/v1',
  node_id: 'gw-1',
  cluster: 'prod',
  instance_id: 'i-1',
  artifact_hash: `sha256:${'1'.repeat(64)}`,
});

describe('ws endpoint refusals are audited', () => {
  it('a flood closed with 4429 is a session.rejected rate_limited', async () => {
    const { connect, rejected } = await start();
    const c = await connect();
    c.ws.send(hello);
    for (let i = 1; i <= 10; i++) {
      c.ws.send(
        JSON.stringify({
          type: 'heartbeat',
          seq: i,
          artifact_hash: `sha256:${'1'.repeat(64)}`,
          loaded_at: '2026-01-01T00:05:00Z',
        }),
      );
    }
    expect(await c.closed).toBe(4429);
    expect(await rejected()).toMatchObject([
      { details: { reason_code: 'rate_limited', close_code: 4429 } },
    ]);
  });

  it('an oversized frame closed with 1009 is a session.rejected too_large', async () => {
    const { connect, rejected } = await start();
    const c = await connect();
    c.ws.send(hello);
    c.ws.send('x'.repeat(2048));
    expect(await c.closed).toBe(1009);
    expect(await rejected()).toMatchObject([
      { details: { reason_code: 'too_large', close_code: 1009 } },
    ]);
  });

  it('a session without a hello closed by the transport (4408) is a session.rejected timeout', async () => {
    const { connect, rejected } = await start();
    const c = await connect();
    expect(await c.closed).toBe(4408);
    expect(await rejected()).toMatchObject([
      { details: { reason_code: 'timeout', close_code: 4408 } },
    ]);
  });
});
