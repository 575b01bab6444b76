import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature, WEBHOOK_HEADERS } from '@plumbline/core/drift';

/** One delivery received by the test webhook receiver. */
export interface Delivery {
  readonly type: string;
  readonly body: Record<string, unknown>;
  readonly verified: boolean;
}

/** A real HTTP webhook receiver on loopback that checks each delivery's signature. */
export async function startWebhookReceiver(secret: string): Promise<{
  url: string;
  deliveries: Delivery[];
  close(): Promise<void>;
}> {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const header = req.headers[WEBHOOK_HEADERS.signature];
      void verifyWebhookSignature({
        secret,
        body: text,
        header: typeof header === 'string' ? header : undefined,
      })
        .then(
          () => true,
          () => false,
        )
        .then((verified) => {
          const body = JSON.parse(text) as Record<string, unknown>;
          deliveries.push({ type: String(body['type']), body, verified });
          res.writeHead(204).end();
        });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/plumbline`,
    deliveries,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
