import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetMonitor } from '@plumbline/core/drift';
import {
  createControlPlaneServer,
  createTokenAuthenticator,
  defaultControlPlaneLimits,
} from '../src/index.js';

// The README's "Limits" sentence and its "binds 127.0.0.1 by default", checked against the
// defaults and a real server.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('the ws README', () => {
  it('quotes the default limits', () => {
    const d = defaultControlPlaneLimits;
    const s = (ms: number): string => `${ms / 1000} s`;
    const sentence = /\*\*Limits\*\*[^:]*: (.*?) Every violation/.exec(readme)![1]!;
    expect(sentence).toBe(
      `frame size ${d.maxFrameBytes / 1024} KiB (1009), handshake time ${s(d.handshakeTimeoutMs)} ` +
        `(slow-loris sockets are destroyed), hello deadline ${s(d.helloTimeoutMs)} (4408), ` +
        `${d.messagesPerSecond} messages/s with a burst of ${d.messageBurst} (4429), ` +
        `${d.maxConnections.toLocaleString('en-US')} connections (HTTP 503), ping/pong every ` +
        `${s(d.pingIntervalMs)}.`,
    );
  });

  it('binds 127.0.0.1 when no host is given', async () => {
    expect(readme).toContain('binds 127.0.0.1 by default');
    const monitor = await FleetMonitor.create();
    const server = await createControlPlaneServer({
      port: 0,
      monitor,
      auth: createTokenAuthenticator({ nodes: {} }),
    });
    close = async () => {
      await server.close();
      await monitor.close();
    };
    expect(server.address().address).toBe('127.0.0.1');
    expect(server.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\//);
  });
});
