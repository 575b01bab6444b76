import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startControlPlane } from '@plumbline/cli';

const ADMIN = 'admin-token-for-the-shutdown';

it('a control plane shutting down ends the event stream with its last chunk, never cuts it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'plumbline-dashboard-shutdown-'));
  try {
    await writeFile(join(dir, 'node-tokens.json'), '{}');
    const cp = await startControlPlane({
      nodeTokens: join(dir, 'node-tokens.json'),
      adminToken: ADMIN,
      store: join(dir, 'state.json'),
      logOutput: { write: () => true },
    });
    const outcome = await new Promise<string>((resolve) => {
      const req = request(
        `${cp.adminUrl}/v1/fleet/events`,
        { headers: { authorization: `Bearer ${ADMIN}` } },
        (res) => {
          // Shut down once the stream is open.
          res.once('data', () => void cp.close());
          res.on('data', () => undefined);
          res.on('end', () => resolve('end'));
          res.on('aborted', () => resolve('aborted'));
          res.on('error', (e) => resolve(`error: ${e.message}`));
        },
      );
      req.on('error', (e) => resolve(`request error: ${e.message}`));
      req.end();
    });
    expect(outcome).toBe('end');
    await cp.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
