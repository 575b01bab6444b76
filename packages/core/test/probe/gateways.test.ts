import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCaddyProbe, describeDifferences, type ProbeResult } from '@plumbline/core/probe';
import { createHaproxyProbe, createNginxProbe } from '@plumbline/core/probe/node';
import {
  startCaddy,
  startHaproxy,
  startNginx,
  type FileGateway,
} from '@plumbline/testkit/gateways';

let dir: string;
const enc = new TextEncoder();
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plumbline-probe-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function ok(result: ProbeResult) {
  if (result.status === 'failing')
    throw new Error(`probe failing: ${result.code} ${result.message}`);
  return result;
}

describe('the Caddy probe against a real Caddy', () => {
  it('reads the running configuration, sees a POST /load, fails when Caddy is down, recovers', async () => {
    const caddy = await startCaddy(join(dir, 'caddy'));
    const probe = createCaddyProbe({ url: caddy.adminUrl, timeoutMs: 2000 });
    try {
      const sealed = probe.canonicalize(enc.encode(JSON.stringify(caddy.config, null, 2)));
      const first = ok(await probe.probe());
      expect(first.status).toBe('ok');
      expect(first.config.digest).toBe(sealed.digest);

      const changed = structuredClone(caddy.config) as {
        apps: { http: { servers: { main: { routes: { handle: { body: string }[] }[] } } } };
      };
      changed.apps.http.servers.main.routes[0]!.handle[0]!.body = 'changed out of band';
      await caddy.load(changed);
      const after = ok(await probe.probe());
      expect(after.config.digest).not.toBe(sealed.digest);
      expect(describeDifferences(sealed, after.config)).toEqual([
        '/apps/http/servers/main/routes/0/handle/0/body',
      ]);

      await caddy.stop();
      const down = await probe.probe();
      expect(down.status).toBe('failing');
      expect(down.status === 'failing' && down.code).toBe('PLB_PROBE_UNREACHABLE');

      await caddy.restart();
      expect(ok(await probe.probe()).config.digest).toBe(sealed.digest);
    } finally {
      await caddy.stop();
    }
  });
});

describe.each([
  ['NGINX', startNginx, (g: FileGateway) => createNginxProbe({ pidFile: g.pidFile })],
  ['HAProxy', startHaproxy, (g: FileGateway) => createHaproxyProbe({ pidFile: g.pidFile })],
] as const)('the %s probe against a real gateway', (name, start, probeOf) => {
  it('reports the loaded generation, a pending reload for an unreloaded edit, the new generation after a reload, failing when stopped', async () => {
    const gateway = await start(join(dir, name));
    const probe = probeOf(gateway);
    try {
      const sealed = probe.canonicalize(await gateway.payload());
      const first = ok(await probe.probe());
      expect(first.status).toBe('ok');
      expect(first.config.digest).toBe(sealed.digest);

      // Edited on disk, not reloaded: the running generation is unchanged, a reload is pending.
      await settle();
      await gateway.write(gateway.configWith('two'));
      const pending = ok(await probe.probe());
      expect(pending.status).toBe('reload_pending');
      expect(pending.config.digest).toBe(sealed.digest);
      expect(pending.pending).toEqual([gateway.configFile]);

      // A fresh probe cannot know what the running generation loaded: failing, never a guess.
      const fresh = await probeOf(gateway).probe();
      expect(fresh.status === 'failing' && fresh.code).toBe('PLB_PROBE_GENERATION_UNKNOWN');

      await gateway.reload();
      const reloaded = ok(await probe.probe());
      expect(reloaded.status).toBe('ok');
      const now = probe.canonicalize(await gateway.payload());
      expect(reloaded.config.digest).toBe(now.digest);
      expect(reloaded.config.digest).not.toBe(sealed.digest);
      expect(describeDifferences(sealed, reloaded.config).length).toBeGreaterThan(0);

      await gateway.stop();
      const down = await probe.probe();
      expect(down.status === 'failing' && down.code).toBe('PLB_PROBE_UNREACHABLE');
    } finally {
      await gateway.stop();
    }
  });
});
