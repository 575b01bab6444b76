import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeTransportConformance } from '@plumbline/core/testing';
import { createSseChannel, type SseConnection } from '../custom-transport/sse-channel.js';
import { createSseTransport } from '../custom-transport/sse-transport.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');

await describeTransportConformance('Server-Sent Events + HTTP POST', async (options) => {
  const transport = createSseTransport(options);
  return {
    transport,
    // The transport's URL is known once the suite has started it; channels are made later.
    channel: (token) => ({
      connect: (handler, signal) =>
        createSseChannel({ url: transport.url, token }).connect(handler, signal),
    }),
    terminate: (connection) => (connection as SseConnection).destroy(),
  };
});

describe('SSE + POST transport', () => {
  it('refuses a POST without the session token, and unknown paths', async () => {
    const transport = createSseTransport({
      tokens: { t: { node_id: 'n', cluster: 'c', principal: 'token:n' } },
    });
    const opened: string[] = [];
    await transport.start({
      onOpen: (s) => opened.push(s.id),
      onMessage: () => undefined,
      onClose: () => undefined,
    });
    try {
      const connection = await createSseChannel({ url: transport.url, token: 't' }).connect({
        onMessage: () => undefined,
        onClose: () => undefined,
      });
      const id = opened[0]!;
      const foreign = await fetch(`${transport.url}/drift/sessions/${id}/frames`, {
        method: 'POST',
        headers: { authorization: 'Bearer other' },
        body: '{}',
      });
      expect(foreign.status).toBe(410);
      const missing = await fetch(`${transport.url}/drift/nothing`);
      expect(missing.status).toBe(404);
      connection.close();
    } finally {
      await transport.close();
    }
  });

  it('runs the example: two nodes reach in_sync, then one drifts', () => {
    const result = spawnSync(
      process.execPath,
      [
        '--conditions=@plumbline/source',
        '--import',
        'tsx',
        'packages/examples/custom-transport/main.ts',
      ],
      { cwd: repo, encoding: 'utf8', timeout: 30_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/edge-1 +lab +in_sync/);
    expect(result.stdout).toMatch(/edge-2 +lab +in_sync/);
    expect(result.stdout).toContain('event drift.detected edge-2');
    expect(result.stdout).toMatch(/edge-2 +lab +drift/);
  });
});
