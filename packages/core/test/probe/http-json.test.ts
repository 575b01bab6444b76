import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAdminHandler, hashAdminToken } from '@plumbline/core/admin';
import {
  createCaddyProbe,
  createHttpJsonProbe,
  createSecretRedactor,
  type ProbeResult,
} from '@plumbline/core/probe';
import { LoadedArtifactRegistry, verifyOnLoad } from '@plumbline/core/verify';
import { makeCandidate, makeHeader } from '../verify/candidates.js';

const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const servers: Server[] = [];

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

function digestOf(result: ProbeResult): string {
  if (result.status === 'failing') throw new Error(`${result.code}: ${result.message}`);
  return result.config.digest;
}

function codeOf(result: ProbeResult): string | undefined {
  return result.status === 'failing' ? result.code : undefined;
}

/** Serves `body()` as JSON, reformatted each time (members reversed, indented). */
async function serveJson(body: () => string): Promise<string> {
  return serve((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(body());
  });
}

describe('the HTTP JSON probe on recorded gateway responses', () => {
  it('Envoy /config_dump: ignores last_updated, redacts inline private keys, sees a changed cluster', async () => {
    let text = fixture('envoy-config-dump.json');
    const url = await serveJson(() => text);
    const redactor = createSecretRedactor();
    const probe = createHttpJsonProbe({
      url: `${url}/config_dump`,
      ignoreMembers: ['last_updated'],
      redactor,
    });
    const first = await probe.probe();
    expect(first.status === 'ok' && new TextDecoder().decode(first.config.bytes)).not.toContain(
      'MIGHAgEAMBMG',
    );
    text = text.replaceAll('2026-01-01T00:00:00', '2026-02-02T11:11:11');
    expect(digestOf(await probe.probe())).toBe(digestOf(first));
    text = text.replace('"port_value": 8080', '"port_value": 8081');
    expect(digestOf(await probe.probe())).not.toBe(digestOf(first));
  });

  it('Traefik /api/rawdata: server health is not configuration, basic-auth hashes are redacted', async () => {
    let text = fixture('traefik-rawdata.json');
    const url = await serveJson(() => text);
    const probe = createHttpJsonProbe({
      url: `${url}/api/rawdata`,
      ignoreMembers: ['serverStatus'],
    });
    const first = await probe.probe();
    expect(first.status === 'ok' && new TextDecoder().decode(first.config.bytes)).not.toContain(
      '$apr1$',
    );
    text = text.replace('"UP"', '"DOWN"');
    expect(digestOf(await probe.probe())).toBe(digestOf(first));
    text = text.replace('10.0.0.7', '10.0.0.8');
    expect(digestOf(await probe.probe())).not.toBe(digestOf(first));
  });

  it('Kong /status: the configuration_hash at a pointer; a missing pointer is PLB_PROBE_NOT_FOUND', async () => {
    const text = fixture('kong-status.json');
    const url = await serveJson(() => text);
    const probe = createHttpJsonProbe({
      url: `${url}/status`,
      pointer: '/configuration_hash',
      kind: 'kong',
    });
    const result = await probe.probe();
    expect(result.status === 'ok' && new TextDecoder().decode(result.config.bytes)).toBe(
      '"0b5e3f3b1b8e4cbd4a6a2cc2c8e1f9d6"',
    );
    expect(probe.kind).toBe('kong');
    const missing = createHttpJsonProbe({ url: `${url}/status`, pointer: '/no/such' });
    expect(codeOf(await missing.probe())).toBe('PLB_PROBE_NOT_FOUND');
  });

  it("a Plumbline data plane's /_admin/provenance (the real handler): its artifact_hash, with the admin token sent", async () => {
    const registry = new LoadedArtifactRegistry();
    await verifyOnLoad(makeCandidate(), { mode: 'enforce' }, { registry });
    const handler = createAdminHandler({
      source: registry,
      auth: { tokens: [{ id: 'probe', sha256: hashAdminToken('probe-token-1') }] },
    });
    const probe = createHttpJsonProbe({
      url: 'http://127.0.0.1:1/_admin/provenance',
      pointer: '/artifact_hash',
      headers: { authorization: 'Bearer probe-token-1' },
      fetch: (input, init) => handler(new Request(input as URL, init)),
    });
    const result = await probe.probe();
    expect(result.status === 'ok' && new TextDecoder().decode(result.config.bytes)).toBe(
      JSON.stringify(makeHeader().artifact_hash),
    );
    const refused = createHttpJsonProbe({
      url: 'http://127.0.0.1:1/_admin/provenance',
      fetch: (input, init) => handler(new Request(input as URL, init)),
    });
    expect(codeOf(await refused.probe())).toBe('PLB_PROBE_HTTP_STATUS');
  });
});

describe('probe bounds', () => {
  it('times out a gateway that never answers', async () => {
    const url = await serve(() => undefined);
    const result = await createHttpJsonProbe({ url, timeoutMs: 50 }).probe();
    expect(codeOf(result)).toBe('PLB_PROBE_TIMEOUT');
  });

  it('refuses a response over the size limit, announced or streamed', async () => {
    const big = JSON.stringify({ a: 'x'.repeat(5000) });
    const announced = await serve((_req, res) => res.end(big));
    expect(codeOf(await createHttpJsonProbe({ url: announced, maxBytes: 1000 }).probe())).toBe(
      'PLB_PROBE_TOO_LARGE',
    );
    const streamed = await serve((_req, res) => {
      res.write(big.slice(0, 600));
      res.end(big.slice(600));
    });
    expect(codeOf(await createHttpJsonProbe({ url: streamed, maxBytes: 1000 }).probe())).toBe(
      'PLB_PROBE_TOO_LARGE',
    );
  });

  it('sends URL credentials to the configured URL only: a redirect is refused, never followed', async () => {
    const seenElsewhere: (string | undefined)[] = [];
    const elsewhere = await serve((req, res) => {
      seenElsewhere.push(req.headers.authorization);
      res.end('{}');
    });
    const seen: (string | undefined)[] = [];
    const url = await serve((req, res) => {
      seen.push(req.headers.authorization);
      res.statusCode = 302;
      res.setHeader('location', `${elsewhere}/config/`);
      res.end();
    });
    const probe = createCaddyProbe({ url: url.replace('http://', 'http://ops:s3cret@') });
    expect(probe.target).not.toContain('s3cret');
    const result = await probe.probe();
    expect(codeOf(result)).toBe('PLB_PROBE_REDIRECT');
    expect(JSON.stringify(result)).not.toContain('s3cret');
    expect(seen).toEqual([`Basic ${btoa('ops:s3cret')}`]);
    expect(seenElsewhere).toEqual([]);
  });

  it('reports unreachable, HTTP errors and malformed JSON with codes', async () => {
    const error = await serve((_req, res) => {
      res.statusCode = 500;
      res.end('{}');
    });
    expect(codeOf(await createHttpJsonProbe({ url: error }).probe())).toBe('PLB_PROBE_HTTP_STATUS');
    const bad = await serve((_req, res) => res.end('{"a":'));
    expect(codeOf(await createHttpJsonProbe({ url: bad }).probe())).toBe('PLB_PROBE_MALFORMED');
    const port = Number(new URL(bad).port);
    await new Promise((resolve) => servers.pop()!.close(resolve));
    expect(codeOf(await createHttpJsonProbe({ url: `http://127.0.0.1:${port}/` }).probe())).toBe(
      'PLB_PROBE_UNREACHABLE',
    );
  });

  it('refuses bad options with PLB_PROBE_INVALID_OPTION', () => {
    expect(() => createHttpJsonProbe({ url: 'file:///etc/passwd' })).toThrow(/http: or https:/);
    expect(() => createHttpJsonProbe({ url: 'http://x/', pointer: 'no-slash' })).toThrow(
      /JSON pointer/,
    );
    expect(() => createHttpJsonProbe({ url: 'http://x/', timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});
