/**
 * A private PostgreSQL 15 server for tests that restart it (never the shared one): `initdb` and
 * `pg_ctl` of Debian's packages, in a temporary directory, on a free loopback port. Run as root,
 * the server runs as the `postgres` user (PostgreSQL refuses root).
 */
import { execFile } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = process.env['PLUMBLINE_TEST_PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'plb-pg-'));
  const root = process.getuid?.() === 0;
  const as = async (cmd: string, args: string[]): Promise<void> => {
    if (root) await run('runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args]);
    else await run(join(BIN, cmd), args);
  };
  if (root) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, 'data');
  await as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const pg = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: () => as('pg_ctl', ['-D', data, '-o', options, '-w', '-l', join(dir, 'log'), 'start']),
    stop: () => as('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
    async destroy(): Promise<void> {
      await pg.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  await pg.start();
  return pg;
}
