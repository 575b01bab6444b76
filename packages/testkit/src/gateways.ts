// Real gateways for tests: Caddy, NGINX and HAProxy (Debian's packages) started as processes in a
// temporary directory on free loopback ports, never as the system service.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A free loopback TCP port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 10_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The pid in a gateway's pid file, when that process is alive and runs with `configFile` on its
 * command line. A gateway that exited can leave its pid file behind (HAProxy does), and process
 * ids are reused (32,768 of them here, and the test suite starts thousands of processes): a bare
 * pid could name another test's process, which a stop would then kill.
 */
async function pidOf(file: string, configFile: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  if (!(pid > 0) || !alive(pid)) return undefined;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.includes(configFile) ? pid : undefined;
}

async function stopPid(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  await until('the process to exit', async () => (alive(pid) ? undefined : true)).catch(() => {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
}

/** A Caddy started with `caddy run` and its admin API on a free port. */
export interface CaddyGateway {
  readonly adminUrl: string;
  readonly port: number;
  /** The JSON configuration it was started with. */
  readonly config: Record<string, unknown>;
  /** Changes the running configuration through the admin API (`POST /load`), out of band. */
  load(config: unknown): Promise<void>;
  stop(): Promise<void>;
  /** Starts it again with its first configuration. */
  restart(): Promise<void>;
}

/** Starts Caddy in `dir` answering `body` on a free port. */
export async function startCaddy(dir: string, body = 'one'): Promise<CaddyGateway> {
  const adminPort = await freePort();
  const port = await freePort();
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const config = {
    admin: { listen: `127.0.0.1:${adminPort}` },
    apps: {
      http: {
        servers: {
          main: {
            listen: [`127.0.0.1:${port}`],
            routes: [{ handle: [{ handler: 'static_response', body }] }],
          },
        },
      },
    },
  };
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'caddy.json');
  await writeFile(file, JSON.stringify(config, null, 2));
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn('caddy', ['run', '--config', file], {
      stdio: 'ignore',
      env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    });
    await until('caddy', async () => ((await fetch(`${adminUrl}/config/`)).ok ? true : undefined));
  };
  await start();
  return {
    adminUrl,
    port,
    config,
    async load(next) {
      const response = await fetch(`${adminUrl}/load`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(next),
      });
      if (!response.ok) throw new Error(`caddy /load answered ${response.status}`);
      // Caddy swaps its admin listener with the new configuration: wait until it answers again.
      await until('caddy after /load', async () =>
        (await fetch(`${adminUrl}/config/`)).ok ? true : undefined,
      );
    },
    async stop() {
      await stopPid(child?.pid);
    },
    restart: start,
  };
}

/** A gateway run from a configuration file with a pid file (NGINX or HAProxy). */
export interface FileGateway {
  readonly dir: string;
  readonly port: number;
  readonly configFile: string;
  readonly pidFile: string;
  /** Writes the configuration file (no reload). */
  write(text: string): Promise<void>;
  /** Reloads the running gateway and waits until the new generation runs. */
  reload(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** The configuration text for a response body. */
  configWith(body: string): string;
  /** The bytes the gateway's artifact payload holds for its current files (`nginx -T` for NGINX). */
  payload(): Promise<Uint8Array>;
}

/**
 * Whether `pid` has installed a handler for (or blocks) signal number `signal`. HAProxy's master
 * forks its worker before it installs its handlers; a SIGUSR2 sent in that window kills it.
 */
async function handles(pid: number, signal: number): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const mask = (name: string): bigint => {
    const hex = new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1];
    return hex === undefined ? 0n : BigInt(`0x${hex}`);
  };
  const bit = 1n << BigInt(signal - 1);
  return ((mask('SigCgt') | mask('SigBlk')) & bit) !== 0n;
}

const SIGUSR2 = 12;

/**
 * Waits until an HAProxy master handles SIGUSR2: it installs its handler only after it has
 * started (and again after each reload's re-exec), and until then the signal's default action
 * kills it.
 */
function readyToReload(master: number): Promise<true> {
  return until('the haproxy master to handle reloads', async () =>
    (await handles(master, SIGUSR2)) ? true : undefined,
  );
}

/** The pids of a master's child processes. */
async function workers(master: number): Promise<string[]> {
  const { stdout } = await run('ps', ['-o', 'pid=', '--ppid', String(master)]).catch(() => ({
    stdout: '',
  }));
  return stdout.split(/\s+/).filter((pid) => pid !== '');
}

/** The pids of NGINX's current workers (not those shutting down after a reload). */
async function nginxWorkers(master: number): Promise<string[]> {
  const { stdout } = await run('ps', ['-o', 'pid=,args=', '--ppid', String(master)]);
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+(.*)/s))
    .filter(([, title]) => title?.trim() === 'nginx: worker process')
    .map(([pid]) => pid!);
}

/** Starts NGINX (master and one worker) in `dir`. */
export async function startNginx(dir: string, body = 'one'): Promise<FileGateway> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const configFile = join(dir, 'nginx.conf');
  const pidFile = join(dir, 'nginx.pid');
  const configWith = (text: string): string =>
    [
      'daemon on;',
      'master_process on;',
      'worker_processes 1;',
      `pid ${pidFile};`,
      `error_log ${join(dir, 'error.log')};`,
      'events { worker_connections 32; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (name) => `  ${name}_temp_path ${join(dir, name)};`,
      ),
      `  server { listen 127.0.0.1:${port}; return 200 "${text}"; }`,
      '}',
      '',
    ].join('\n');
  const args = ['-c', configFile, '-p', dir];
  const gateway: FileGateway = {
    dir,
    port,
    configFile,
    pidFile,
    configWith,
    write: (text) => writeFile(configFile, text),
    async start() {
      await run('nginx', args);
      const master = await until('nginx', () => pidOf(pidFile, configFile));
      // Started once a child is titled as a worker: a child just forked still carries the
      // master's title, and the probe (rightly) counts only workers.
      await until('the nginx workers', async () =>
        (await nginxWorkers(master)).length > 0 ? true : undefined,
      );
    },
    async reload() {
      const master = (await pidOf(pidFile, configFile))!;
      const before = await nginxWorkers(master);
      await run('nginx', [...args, '-s', 'reload']);
      // Reloaded once every current worker is new (the old ones are gone or shutting down).
      await until(
        'the new nginx workers',
        async () => {
          const now = await nginxWorkers(master);
          return now.length > 0 && now.every((pid) => !before.includes(pid)) ? true : undefined;
        },
        30_000,
      );
    },
    async stop() {
      const pid = await pidOf(pidFile, configFile);
      await stopPid(pid);
    },
    async payload() {
      const { stdout } = await run('nginx', ['-q', '-T', ...args], { encoding: 'buffer' });
      return new Uint8Array(stdout);
    },
  };
  await gateway.write(configWith(body));
  await gateway.start();
  return gateway;
}

/** Starts HAProxy in master-worker mode in `dir`. */
export async function startHaproxy(dir: string, body = 'one'): Promise<FileGateway> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const configFile = join(dir, 'haproxy.cfg');
  const pidFile = join(dir, 'haproxy.pid');
  const configWith = (text: string): string =>
    [
      'global',
      '  maxconn 64',
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 5s',
      '  timeout server 5s',
      'frontend main',
      `  bind 127.0.0.1:${port}`,
      `  http-request return status 200 content-type text/plain string ${text}`,
      '',
    ].join('\n');
  const gateway: FileGateway = {
    dir,
    port,
    configFile,
    pidFile,
    configWith,
    write: (text) => writeFile(configFile, text),
    async start() {
      // Started again right after a stop, the port can still be held for a moment (a worker of
      // the stopped master finishing): try again before failing, with HAProxy's own error (no -q).
      for (let attempt = 1; ; attempt++) {
        try {
          await run('haproxy', ['-W', '-D', '-f', configFile, '-p', pidFile]);
          break;
        } catch (error) {
          if (attempt === 3) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
        }
      }
      const master = await until('haproxy', () => pidOf(pidFile, configFile));
      await until('the haproxy worker', async () =>
        (await workers(master)).length > 0 ? true : undefined,
      );
      await readyToReload(master);
    },
    async reload() {
      const master = (await pidOf(pidFile, configFile))!;
      const before = await workers(master);
      // Reloaded once the master has a worker it did not have before (pids compared whole: a
      // new pid may be a substring of an old one). A loaded machine can take seconds to re-exec;
      // a reload that shows no new worker after a while is asked for again (reloading the same
      // file twice changes nothing), only while the master is ready for it.
      const started = Date.now();
      let asked = 0;
      for (;;) {
        await readyToReload(master);
        process.kill(master, 'SIGUSR2');
        asked++;
        const renewed = await until(
          'the new haproxy worker',
          async () =>
            (await workers(master)).some((pid) => !before.includes(pid)) ? true : undefined,
          10_000,
        ).catch(() => false);
        if (renewed) return;
        if (Date.now() - started > 25_000) {
          const now = await workers(master);
          throw new Error(
            `haproxy did not reload after ${asked} SIGUSR2: master ${master} ${alive(master) ? 'alive' : 'gone'}, workers before [${before.join(' ')}], now [${now.join(' ')}]`,
          );
        }
      }
    },
    async stop() {
      // Stopped when the master and every worker it had are gone (the port is free again).
      const master = await pidOf(pidFile, configFile);
      if (master === undefined) return;
      const children = await workers(master);
      await stopPid(master);
      for (const pid of children) await stopPid(Number(pid));
    },
    async payload() {
      return new Uint8Array(await readFile(configFile));
    },
  };
  await gateway.write(configWith(body));
  await gateway.start();
  return gateway;
}
