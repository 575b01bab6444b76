import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createHttpJsonProbe, DEFAULT_PROBE_LIMITS } from '@plumbline/core/probe';

// The probes guide and docs/errors.md quote the probes' default bounds ("default 5 s", "16 MiB");
// they are read here and compared with the exported defaults, and the size bound is exercised
// without passing any limit.
const doc = (path: string): string =>
  readFileSync(new URL(`../../../../${path}`, import.meta.url), 'utf8').replace(/\s+/g, ' ');
const guide = doc('docs/guides/live-config-probes.md');
const errors = doc('docs/errors.md');
const MiB = 1024 * 1024;

const servers: Server[] = [];
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('the probes’ documented defaults', () => {
  it('are the exported defaults', () => {
    const seconds = `${DEFAULT_PROBE_LIMITS.timeoutMs / 1000} s`;
    const size = `${DEFAULT_PROBE_LIMITS.maxBytes / MiB} MiB`;
    expect(guide).toContain(`(\`--probe-timeout\`, default ${seconds}; ${size} of configuration)`);
    expect(errors).toMatch(
      new RegExp(`\`PLB_PROBE_TIMEOUT\` [^\\n]*\\(default ${seconds}\\)`.replace(/ /g, '\\s*')),
    );
    expect(errors).toMatch(
      new RegExp(`\`PLB_PROBE_TOO_LARGE\` [^\\n]*\\(default ${size}\\)`.replace(/ /g, '\\s*')),
    );
  });

  it('bound a probe given no limits: one byte over 16 MiB is refused before it is read', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': String(DEFAULT_PROBE_LIMITS.maxBytes + 1),
      });
      // Only the start is ever sent: the length alone must be refused.
      res.write('[1');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const result = await createHttpJsonProbe({ url }).probe();
    expect(result.status).toBe('failing');
    expect(result.status === 'failing' ? result.code : undefined).toBe('PLB_PROBE_TOO_LARGE');
  });
});
