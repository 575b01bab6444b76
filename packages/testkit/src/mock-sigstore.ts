import { createHash, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  fulcioHandler,
  initializeCA,
  initializeCTLog,
  initializeTLog,
  initializeTSA,
  rekorHandler,
  tsaHandler,
  type HandlerFn,
} from '@sigstore/mock';

/** A mock Fulcio, Rekor and TSA (from @sigstore/mock) behind one real loopback HTTP server. */
export interface MockSigstore {
  readonly url: string;
  /** A `trusted_root.json` document trusting this instance's CA, logs and TSA. */
  readonly trustedRoot: Record<string, unknown>;
  /** Requests served, by path. */
  readonly requests: Record<string, number>;
  close(): Promise<void>;
}

const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const b64 = (bytes: ArrayBufferView | Buffer) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** Starts the mock services; `caClock` back-dates the certificates Fulcio issues. */
export async function startMockSigstore(options: { caClock?: Date } = {}): Promise<MockSigstore> {
  const routes = new Map<string, HandlerFn>();
  const requests: Record<string, number> = {};
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      requests[path] = (requests[path] ?? 0) + 1;
      const handler = req.method === 'POST' ? routes.get(path) : undefined;
      if (!handler) {
        res.writeHead(404).end('not found');
        return;
      }
      handler(Buffer.concat(chunks).toString('utf8')).then(
        (result) => {
          res.writeHead(result.statusCode, { 'content-type': result.contentType ?? 'text/plain' });
          res.end(result.response);
        },
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const ctlog = await initializeCTLog(keyPair());
  const ca = await initializeCA(keyPair(), ctlog, options.caClock);
  const tlog = await initializeTLog(url, keyPair());
  // The mock TSA writes milliseconds without trailing zeros ("…45.12Z"), which @sigstore/core's
  // strict time parser refuses; a clock set to whole seconds before each request avoids that.
  const tsaClock = new Date();
  const tsa = await initializeTSA(keyPair(), tsaClock);
  const timestamp = tsaHandler(tsa);
  for (const handler of [fulcioHandler(ca), rekorHandler(tlog)])
    routes.set(handler.path, handler.fn);
  routes.set(timestamp.path, (body) => {
    tsaClock.setTime(Math.floor(Date.now() / 1000) * 1000);
    return timestamp.fn(body);
  });

  const start = '2000-01-01T00:00:00Z';
  const logKey = (publicKey: Buffer) => ({
    rawBytes: b64(publicKey),
    keyDetails: 'PKIX_ECDSA_P256_SHA_256',
    validFor: { start },
  });
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: url,
        hashAlgorithm: 'SHA2_256',
        publicKey: logKey(tlog.publicKey),
        logId: { keyId: createHash('sha256').update(tlog.publicKey).digest('base64') },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: url,
        certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] },
        validFor: { start },
      },
    ],
    ctlogs: [
      {
        baseUrl: url,
        hashAlgorithm: 'SHA2_256',
        publicKey: logKey(ctlog.publicKey),
        logId: { keyId: b64(ctlog.logID) },
      },
    ],
    timestampAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'tsa' },
        uri: url,
        certChain: {
          certificates: [
            { rawBytes: b64(tsa.intCertificate) },
            { rawBytes: b64(tsa.rootCertificate) },
          ],
        },
        validFor: { start },
      },
    ],
  };
  return {
    url,
    trustedRoot,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** An unsigned OIDC identity token (the mock Fulcio only decodes it). */
export function identityToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ aud: 'sigstore', exp: Math.floor(Date.now() / 1000) + 600, ...claims })}.c2ln`;
}
