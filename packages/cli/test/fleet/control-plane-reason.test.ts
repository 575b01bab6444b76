import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane } from '@plumbline/cli';
import { hashToken } from '@plumbline/ws';
import { describe, expect, it } from 'vitest';
import { until } from '../helpers.js';
import { startWebhookReceiver } from './webhook-receiver.js';

const SECRET = 'ghp_0123456789abcdefghijABCDEFGHIJ012345';
const HASH = `sha256:${'ab'.repeat(32)}`;

describe('a desired-state reason holding a secret', () => {
  it('is redacted in the state file, the log, the webhook body, the audit trail and the API', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plumbline-reason-'));
    let log = '';
    const receiver = await startWebhookReceiver('webhook-secret');
    await writeFile(
      join(dir, 'node-tokens.json'),
      JSON.stringify({ 'gw-1': { cluster: 'prod', token_sha256: hashToken('token-gw-1') } }),
    );
    const cp = await startControlPlane({
      nodeTokens: join(dir, 'node-tokens.json'),
      adminToken: 'admin-secret',
      store: join(dir, 'state.json'),
      webhook: { url: receiver.url, secret: 'webhook-secret' },
      audit: { path: join(dir, 'audit.jsonl') },
      logOutput: { write: (s: string) => ((log += s), true) },
    });
    try {
      const res = await fetch(`${cp.adminUrl}/v1/clusters/prod/desired`, {
        method: 'PUT',
        headers: { authorization: 'Bearer admin-secret', 'content-type': 'application/json' },
        body: JSON.stringify({ artifact_hash: HASH, reason: `release 42 token=${SECRET}` }),
      });
      expect(res.status).toBe(200);
      const answer = await res.text();
      expect(answer).toContain('release 42');
      await until(
        async () => receiver.deliveries.find((d) => d.type === 'desired_state.changed'),
        'the desired-state webhook',
      );
      await cp.close();
      const state = await readFile(join(dir, 'state.json'), 'utf8');
      const audit = await readFile(join(dir, 'audit.jsonl'), 'utf8');
      expect(state).toContain('release 42');
      expect(log).toContain('release 42');
      for (const text of [answer, state, log, audit, JSON.stringify(receiver.deliveries)]) {
        expect(text).not.toContain(SECRET);
      }
    } finally {
      await cp.close();
      await receiver.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
