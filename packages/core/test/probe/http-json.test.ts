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

/** Serves `body()` as JSON. */
async function serveJson(body: () => string): Promise<string> {
  return serve((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(body());
  });
}

/** The same JSON written differently: every object's members in reverse order, indented by 3. */
function reformat(text: string): string {
  const reverse = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(reverse)
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(
            Object.entries(value)
              .reverse()
              .map(([k, v]) => [k, reverse(v)]),
          )
        : value;
  return JSON.stringify(reverse(JSON.parse(text)), null, 3);
}

const bytesOf = (result: ProbeResult): string =>
  result.status === 'failing' ? '' : new TextDecoder().decode(result.config.bytes);

// The Envoy and Traefik files are real responses recorded by those projects (fixtures/README.md).
describe('the HTTP JSON probe on recorded gateway responses', () => {
  it('Envoy /config_dump (routes): stable under reformatting and last_updated, sees a changed retry policy, at a pointer too', async () => {
    const recorded = fixture('envoy-routes-config-dump.json');
    let text = recorded;
    const url = await serveJson(() => text);
    const probe = createHttpJsonProbe({
      url: `${url}/config_dump`,
      ignoreMembers: ['last_updated'],
    });
    const route = createHttpJsonProbe({
      url: `${url}/config_dump`,
      pointer: '/configs/0/dynamic_route_configs/0/route_config',
    });
    const first = digestOf(await probe.probe());
    const firstRoute = await route.probe();
    expect(JSON.parse(bytesOf(firstRoute))).toMatchObject({ name: 'http.8080' });

    text = reformat(recorded).replaceAll('2023-11-29T10:46:50.8', '2024-01-02T03:04:05.6');
    expect(digestOf(await probe.probe())).toBe(first);
    expect(digestOf(await route.probe())).toBe(digestOf(firstRoute));

    text = recorded.replace('"num_retries": 2', '"num_retries": 5');
    expect(digestOf(await probe.probe())).not.toBe(first);
    expect(digestOf(await route.probe())).not.toBe(digestOf(firstRoute));
    // A static route (outside the pointer) changes the whole dump, not the dynamic route config.
    text = recorded.replace('"prefix": "/healthz/ready"', '"prefix": "/healthz/live"');
    expect(digestOf(await probe.probe())).not.toBe(first);
    expect(digestOf(await route.probe())).toBe(digestOf(firstRoute));
  });

  it('Envoy /config_dump (secrets): the private key is redacted, a rotated certificate changes the digest', async () => {
    const recorded = fixture('envoy-secrets-config-dump.json');
    const privateKey = (
      JSON.parse(recorded) as {
        configs: [
          {
            dynamic_active_secrets: {
              secret: { tls_certificate?: { private_key: { inline_bytes: string } } };
            }[];
          },
        ];
      }
    ).configs[0].dynamic_active_secrets[0]!.secret.tls_certificate!.private_key.inline_bytes;
    let text = recorded;
    const url = await serveJson(() => text);
    const probe = createHttpJsonProbe({
      url: `${url}/config_dump`,
      ignoreMembers: ['last_updated'],
      redactor: createSecretRedactor(),
    });
    const first = await probe.probe();
    expect(bytesOf(first)).toContain('certificate_chain');
    expect(bytesOf(first)).not.toContain(privateKey);
    expect(bytesOf(first)).toContain('[redacted:');

    text = reformat(recorded).replace('2023-05-15T01:32:52.262Z', '2023-06-01T00:00:00.000Z');
    expect(digestOf(await probe.probe())).toBe(digestOf(first));
    // A new private key (as a gateway that does not mask it would serve) still changes the digest.
    text = recorded.replace(privateKey, Buffer.from('another key').toString('base64'));
    expect(digestOf(await probe.probe())).not.toBe(digestOf(first));
    // A rotated certificate: one character of the chain.
    const at = recorded.indexOf('"inline_bytes": "LS0t') + 40;
    text = `${recorded.slice(0, at)}${recorded[at] === 'A' ? 'B' : 'A'}${recorded.slice(at + 1)}`;
    expect(digestOf(await probe.probe())).not.toBe(digestOf(first));
  });

  it('Traefik /api/rawdata: server health is not configuration, stable under reformatting, sees a moved backend, at a pointer too', async () => {
    const recorded = fixture('traefik-rawdata-crd.json');
    let text = recorded;
    const url = await serveJson(() => text);
    const probe = createHttpJsonProbe({
      url: `${url}/api/rawdata`,
      ignoreMembers: ['serverStatus'],
    });
    const routers = createHttpJsonProbe({ url: `${url}/api/rawdata`, pointer: '/routers' });
    const first = digestOf(await probe.probe());
    const firstRouters = digestOf(await routers.probe());

    text = reformat(recorded.replaceAll('"UP"', '"DOWN"'));
    expect(digestOf(await probe.probe())).toBe(first);
    expect(digestOf(await routers.probe())).toBe(firstRouters);

    text = recorded.replaceAll('http://10.42.0.5:80', 'http://10.42.0.9:80');
    expect(digestOf(await probe.probe())).not.toBe(first);
    expect(digestOf(await routers.probe())).toBe(firstRouters);
    text = recorded.replace('PathPrefix(`/bar`)', 'PathPrefix(`/baz`)');
    expect(digestOf(await routers.probe())).not.toBe(firstRouters);
  });

  it('Traefik /api/rawdata: a basicAuth middleware added to the recorded response has its users redacted', async () => {
    const data = JSON.parse(fixture('traefik-rawdata-crd.json')) as {
      middlewares: Record<string, unknown>;
    };
    // The user line of Traefik's basicAuth documentation (htpasswd MD5).
    const user = 'test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/';
    data.middlewares['default-auth@kubernetescrd'] = {
      basicAuth: { users: [user] },
      status: 'enabled',
    };
    const url = await serveJson(() => JSON.stringify(data));
    const result = await createHttpJsonProbe({ url: `${url}/api/rawdata` }).probe();
    expect(bytesOf(result)).toContain('basicAuth');
    expect(bytesOf(result)).not.toContain('$apr1$');
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
