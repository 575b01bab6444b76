/**
 * The HAProxy probe core ships runs the live-configuration probe conformance suite against a
 * real HAProxy (master-worker mode), like the Caddy, NGINX, HTTP JSON and command probes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHaproxyProbe } from '@plumbline/core/probe/node';
import { describeProbeConformance } from '@plumbline/core/testing';
import { startHaproxy } from '@plumbline/testkit/gateways';

await describeProbeConformance(
  'HAProxy (a real HAProxy)',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plumbline-haproxy-'));
    const haproxy = await startHaproxy(dir);
    return {
      probe: createHaproxyProbe({ pidFile: haproxy.pidFile }),
      payload: () => haproxy.payload(),
      change: async () => {
        await haproxy.write(haproxy.configWith('changed'));
        await haproxy.reload();
      },
      stop: () => haproxy.stop(),
      dispose: async () => {
        await haproxy.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { timeoutMs: 45_000 },
);
