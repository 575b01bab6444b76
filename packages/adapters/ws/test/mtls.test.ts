import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FleetMonitor } from '@plumbline/core/drift';
import {
  connectDataPlane,
  createControlPlaneServer,
  createMtlsAuthenticator,
  type ControlPlaneServer,
} from '@plumbline/ws';
import { makePki } from './pki.js';

const H1 = `sha256:${'1'.repeat(64)}` as const;
let pki: ReturnType<typeof makePki>;
let monitor: FleetMonitor;
let server: ControlPlaneServer;

beforeAll(async () => {
  pki = makePki();
  monitor = await FleetMonitor.create({ heartbeatIntervalMs: 100 });
  await monitor.setDesired({ cluster: 'prod', artifact_hash: H1, actor: 'test', reason: 'test' });
  server = await createControlPlaneServer({
    monitor,
    auth: createMtlsAuthenticator({ trustDomains: ['example.org'] }),
    // Ask for a certificate but let the authenticator refuse unverified ones with 401.
    tls: {
      key: pki.server.key,
      cert: pki.server.cert,
      ca: pki.caCert,
      requestCert: true,
      rejectUnauthorized: false,
    },
  });
});

afterAll(async () => {
  await server.close();
  await monitor.close();
  pki.cleanup();
});

function open(
  options: WebSocket.ClientOptions,
): Promise<{ ws: WebSocket; closed: Promise<number>; frames: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(server.url, { ca: pki.caCert, ...options });
    const frames: string[] = [];
    ws.on('message', (d) => frames.push(d.toString()));
    const closed = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    ws.once('open', () => resolve({ ws, closed, frames }));
    ws.once('unexpected-response', (_q, res) =>
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
    );
    ws.once('error', reject);
  });
}

describe('mTLS with SPIFFE identities', () => {
  it('takes the node id from the client certificate and reports over wss://', async () => {
    expect(server.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/ws\/data-plane$/);
    const client = connectDataPlane({
      url: server.url,
      nodeId: 'gw-1',
      cluster: 'prod',
      credentials: { mtls: true },
      tls: { ca: pki.caCert, cert: pki.gw1.cert, key: pki.gw1.key },
      source: () => ({ artifact_hash: H1 }),
      heartbeatIntervalMs: 100,
    });
    const end = Date.now() + 10_000;
    while (monitor.node('gw-1')?.state !== 'in_sync' && Date.now() < end)
      await new Promise((r) => setTimeout(r, 20));
    expect(monitor.node('gw-1')?.state).toBe('in_sync');
    await client.close();
  });

  it('refuses a hello claiming another node with 4403', async () => {
    const c = await open({ cert: pki.gw1.cert, key: pki.gw1.key });
    c.ws.send(
      JSON.stringify({
        type: 'hello',
        protocol: 'plumbline.drift/v1',
        node_id: 'gw-2',
        cluster: 'prod',
        instance_id: 'i',
        artifact_hash: null,
      }),
    );
    expect(await c.closed).toBe(4403);
  });

  it('answers 401 to no certificate and to a certificate of another CA', async () => {
    await expect(open({})).rejects.toMatchObject({ status: 401 });
    await expect(open({ cert: pki.foreign.cert, key: pki.foreign.key })).rejects.toMatchObject({
      status: 401,
    });
    expect(server.stats().upgradesRejected.unauthenticated).toBe(2);
  });
});
