/**
 * Every alert sink core ships runs the alert sink conformance suite: the log sink over a
 * writable, the webhook sink against a real HTTP receiver on loopback.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookSink, createLogSink } from '@plumbline/core/drift';
import { describeAlertSinkConformance } from '@plumbline/core/testing';

await describeAlertSinkConformance('createLogSink', async () => {
  const lines: string[] = [];
  let failing = false;
  const sink = createLogSink({
    writable: {
      write(chunk: string) {
        if (failing) throw new Error('EPIPE');
        lines.push(chunk.replace(/\n$/, ''));
      },
    },
  });
  return {
    sink,
    received: () => lines,
    fail: (on) => {
      failing = on;
    },
  };
});

const SECRET = 'whsec-conformance-5b1d7e';

await describeAlertSinkConformance('WebhookSink (HTTP receiver on loopback)', async () => {
  const bodies: string[] = [];
  let failing = false;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failing) {
        res.writeHead(503).end();
        return;
      }
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const queueSize = 40;
  const sink = new WebhookSink({
    url: `http://127.0.0.1:${port}/hook`,
    secret: SECRET,
    queueSize,
    maxAttempts: 1000,
    initialBackoffMs: 2,
    maxBackoffMs: 10,
    timeoutMs: 5000,
    closeTimeoutMs: 5000,
  });
  return {
    sink,
    received: () => bodies,
    fail: (on) => {
      failing = on;
    },
    queueSize,
    secrets: [SECRET],
    dispose: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
});
