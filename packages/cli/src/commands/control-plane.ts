import type { Command } from 'commander';
import { PlumblineError, limitOption } from '@plumbline/core';
import { hashToken, readTokenFile, type ControlPlaneLimits } from '@plumbline/ws';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { CommandContext, CommandModule } from '../context.js';
import {
  controlPlaneConfigSchema,
  readConfigFile,
  type ControlPlaneConfig,
} from '../control-plane/config.js';
import { isUrlOf, parseDuration, parseListen } from '../control-plane/parse.js';
import { startControlPlane, type ControlPlaneOptions } from '../control-plane/start.js';
import { checkStoreUrl, migratePostgresStore, openPostgresStore } from '../control-plane/store.js';
import { parseLogLevel } from '../control-plane/log.js';
import { waitForShutdown } from '../control-plane/shutdown.js';
import { parseProtocol } from '../control-plane/barbacane.js';

interface ControlPlaneFlags {
  listen?: string;
  adminListen?: string;
  nodeTokens?: string;
  adminTokenFile?: string;
  readTokenFile?: string;
  stateFile?: string;
  store?: string;
  schema?: string;
  heartbeatInterval?: string;
  replicaTimeout?: string;
  sweepInterval?: string;
  webhook?: string;
  webhookSecretFile?: string;
  auditLog?: string;
  auditKey?: string;
  config?: string;
  logLevel?: string;
  protocol?: string;
  barbacaneKeys?: string;
}

const MAX_STDIN_BYTES = 64 * 1024;

async function readStdin(context: CommandContext): Promise<string> {
  const stdin = context.io.stdin;
  if (!stdin) throw new PlumblineError('PLB_USAGE', 'expected the token on standard input');
  let text = '';
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (text.length > MAX_STDIN_BYTES) {
      throw new PlumblineError(
        'PLB_USAGE',
        `standard input is larger than ${MAX_STDIN_BYTES} bytes`,
      );
    }
  }
  return text;
}

function durationOf(value: string | number | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'number' ? Math.round(value * 1000) : parseDuration(value, what);
}

function limitsOf(config: ControlPlaneConfig['limits']): Partial<ControlPlaneLimits> | undefined {
  if (!config) return undefined;
  const out: { -readonly [K in keyof ControlPlaneLimits]?: number } = {};
  if (config['max-frame-bytes'] !== undefined) out.maxFrameBytes = config['max-frame-bytes'];
  if (config['messages-per-second'] !== undefined)
    out.messagesPerSecond = config['messages-per-second'];
  if (config['message-burst'] !== undefined) out.messageBurst = config['message-burst'];
  if (config['max-connections'] !== undefined) out.maxConnections = config['max-connections'];
  const handshake = durationOf(config['handshake-timeout'], 'limits.handshake-timeout');
  if (handshake !== undefined) out.handshakeTimeoutMs = handshake;
  const hello = durationOf(config['hello-timeout'], 'limits.hello-timeout');
  if (hello !== undefined) out.helloTimeoutMs = hello;
  const ping = durationOf(config['ping-interval'], 'limits.ping-interval');
  if (ping !== undefined) out.pingIntervalMs = ping;
  return out;
}

/** Where each setting comes from: a flag, else the config file's key (paths relative to `cwd`). */
interface Settings {
  readonly flags: ControlPlaneFlags;
  readonly config: ControlPlaneConfig;
  readonly cwd: string;
  pick<T>(flag: T | undefined, key: keyof ControlPlaneConfig): T | undefined;
  path(p: string | undefined): string | undefined;
}

/** The data-plane and admin listeners, which must be two. */
function listenersOf({ flags, pick }: Settings) {
  const listenText = pick(flags.listen, 'listen');
  const adminText = pick(flags.adminListen, 'admin-listen');
  if (!listenText)
    throw new PlumblineError(
      'PLB_USAGE',
      '--listen HOST:PORT is required (or "listen" in --config)',
    );
  if (!adminText) {
    throw new PlumblineError(
      'PLB_USAGE',
      '--admin-listen HOST:PORT is required (or "admin-listen" in --config)',
    );
  }
  const listen = parseListen(listenText, flags.listen ? '--listen' : 'listen');
  const adminListen = parseListen(adminText, flags.adminListen ? '--admin-listen' : 'admin-listen');
  if (listen.port !== 0 && listen.port === adminListen.port && listen.host === adminListen.host) {
    throw new PlumblineError(
      'PLB_USAGE',
      'the admin listener must be separate from the data-plane listener',
    );
  }
  return { listen, adminListen };
}

/** How nodes authenticate: node tokens, mTLS trust domains, Barbacane keys, by protocol. */
function nodeAuthOf({ flags, config, pick, path }: Settings) {
  const nodeTokens = path(pick(flags.nodeTokens, 'node-tokens'));
  const trustDomains = config.mtls?.['trust-domains'];
  const protocol = parseProtocol(pick(flags.protocol, 'protocol') ?? 'ws');
  const barbacaneKeys = path(pick(flags.barbacaneKeys, 'barbacane-keys'));
  if (protocol !== 'ws' && !barbacaneKeys) {
    throw new PlumblineError('PLB_USAGE', `--protocol ${protocol} needs --barbacane-keys FILE`);
  }
  if (protocol === 'ws' && barbacaneKeys) {
    throw new PlumblineError('PLB_USAGE', '--barbacane-keys needs --protocol barbacane or both');
  }
  if (!nodeTokens && !trustDomains && protocol !== 'barbacane') {
    throw new PlumblineError('PLB_USAGE', '--node-tokens FILE is required (or "mtls" in --config)');
  }
  return {
    ...(nodeTokens ? { nodeTokens } : {}),
    ...(trustDomains ? { mtlsTrustDomains: trustDomains } : {}),
    ...(protocol === 'ws' ? {} : { protocol, ...(barbacaneKeys ? { barbacaneKeys } : {}) }),
  };
}

/** The fleet store: a state file, or a PostgreSQL URL (and schema) opened by the caller. */
function storeOf({ flags, cwd, pick, path }: Settings): {
  store: string;
  storeUrl?: string;
  schema?: string;
} {
  const stateFile = path(pick(flags.stateFile, 'state-file'));
  const storeUrl = pick(flags.store, 'store');
  if (stateFile && storeUrl)
    throw new PlumblineError('PLB_USAGE', 'give either --state-file or --store, not both');
  if (storeUrl !== undefined) checkStoreUrl(storeUrl);
  const schema = pick(flags.schema, 'schema');
  if (schema !== undefined && !storeUrl)
    throw new PlumblineError('PLB_USAGE', '--schema needs --store postgres://…');
  return {
    store: stateFile ?? resolve(cwd, 'plumbline-state.json'),
    ...(storeUrl ? { storeUrl } : {}),
    ...(storeUrl && schema !== undefined ? { schema } : {}),
  };
}

/** The PostgreSQL store's timings (`--replica-timeout`, `--sweep-interval`), in milliseconds. */
export interface StoreTimings {
  readonly replicaTimeoutMs?: number;
  readonly sweepIntervalMs?: number;
  readonly replicaHeartbeatMs?: number;
}

/** One store timing: a flag or config-file duration, at least `min` ms. */
function timingOf(
  { config }: Settings,
  flag: string | undefined,
  key: 'replica-timeout' | 'sweep-interval',
  min: number,
): number | undefined {
  const what = flag === undefined ? key : `--${key}`;
  const ms = durationOf(flag ?? config[key], what);
  return ms === undefined ? undefined : limitOption(ms, { name: what, code: 'PLB_USAGE', min });
}

/**
 * How long a silent replica lives and how often the sweep runs. A replica records that it is
 * alive every third of the timeout (at most every 5 s, the store's default), so a live one is
 * never taken for dead.
 */
function storeTimingsOf(settings: Settings, storeUrl: string | undefined): StoreTimings {
  const { flags } = settings;
  const replicaTimeoutMs = timingOf(settings, flags.replicaTimeout, 'replica-timeout', 1000);
  const sweepIntervalMs = timingOf(settings, flags.sweepInterval, 'sweep-interval', 100);
  if ((replicaTimeoutMs !== undefined || sweepIntervalMs !== undefined) && !storeUrl) {
    throw new PlumblineError(
      'PLB_USAGE',
      '--replica-timeout and --sweep-interval need --store postgres://…',
    );
  }
  return {
    ...(replicaTimeoutMs === undefined
      ? {}
      : {
          replicaTimeoutMs,
          replicaHeartbeatMs: Math.min(5000, Math.floor(replicaTimeoutMs / 3)),
        }),
    ...(sweepIntervalMs === undefined ? {} : { sweepIntervalMs }),
  };
}

/** The webhook URL (http or https) and the file of the secret signing its alerts. */
function webhookOf({
  flags,
  pick,
  path,
}: Settings): { url: string; secretFile: string } | undefined {
  const webhook = pick(flags.webhook, 'webhook');
  const webhookSecretFile = path(pick(flags.webhookSecretFile, 'webhook-secret-file'));
  if (webhook && !webhookSecretFile) {
    throw new PlumblineError(
      'PLB_USAGE',
      '--webhook needs --webhook-secret-file (alerts are signed)',
    );
  }
  if (!webhook || !webhookSecretFile) return undefined;
  if (!isUrlOf(webhook, ['http:', 'https:'])) {
    throw new PlumblineError('PLB_USAGE', '--webhook must be an http(s) URL');
  }
  return { url: webhook, secretFile: webhookSecretFile };
}

/** The TLS files of the config file, read. */
async function tlsOf({ config, cwd }: Settings): Promise<ControlPlaneOptions['tls']> {
  if (!config.tls) return undefined;
  return {
    cert: await readFile(resolve(cwd, config.tls.cert)),
    key: await readFile(resolve(cwd, config.tls.key)),
    ...(config.tls.ca ? { ca: await readFile(resolve(cwd, config.tls.ca)) } : {}),
    ...(config.tls['client-auth'] ? { clientAuth: config.tls['client-auth'] } : {}),
  };
}

/**
 * Builds {@link ControlPlaneOptions} from flags and the config file (flags win).
 *
 * @internal
 */
export async function controlPlaneOptionsFrom(
  flags: ControlPlaneFlags,
  context: CommandContext,
): Promise<{
  options: ControlPlaneOptions;
  storeUrl?: string;
  schema?: string;
  timings?: StoreTimings;
}> {
  const cwd = context.io.cwd;
  const config: ControlPlaneConfig = flags.config
    ? await readConfigFile(resolve(cwd, flags.config), controlPlaneConfigSchema)
    : {};
  const settings: Settings = {
    flags,
    config,
    cwd,
    pick: <T>(flag: T | undefined, key: keyof ControlPlaneConfig): T | undefined =>
      flag ?? (config[key] as T | undefined),
    path: (p) => (p === undefined ? undefined : resolve(cwd, p)),
  };
  const listeners = listenersOf(settings);
  const adminTokenFile = settings.path(settings.pick(flags.adminTokenFile, 'admin-token-file'));
  if (!adminTokenFile) throw new PlumblineError('PLB_USAGE', '--admin-token-file FILE is required');
  const nodeAuth = nodeAuthOf(settings);
  const { store, storeUrl, schema } = storeOf(settings);
  const timings = storeTimingsOf(settings, storeUrl);
  const webhook = webhookOf(settings);
  const auditLog = settings.path(settings.pick(flags.auditLog, 'audit-log'));
  const auditKey = settings.path(settings.pick(flags.auditKey, 'audit-key'));
  if (auditKey && !auditLog) throw new PlumblineError('PLB_USAGE', '--audit-key needs --audit-log');
  const logLevel = parseLogLevel(flags.logLevel ?? config['log-level']);
  const tls = await tlsOf(settings);
  const limits = limitsOf(config.limits);
  const heartbeatIntervalMs = durationOf(
    flags.heartbeatInterval ?? config['heartbeat-interval'],
    flags.heartbeatInterval ? '--heartbeat-interval' : 'heartbeat-interval',
  );
  const options: ControlPlaneOptions = {
    ...listeners,
    adminToken: await readTokenFile(adminTokenFile),
    ...(flags.readTokenFile
      ? { readToken: await readTokenFile(resolve(cwd, flags.readTokenFile)) }
      : {}),
    ...nodeAuth,
    store,
    ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
    ...(config['stale-after'] === undefined ? {} : { staleAfterIntervals: config['stale-after'] }),
    ...(webhook
      ? { webhook: { url: webhook.url, secret: await readTokenFile(webhook.secretFile) } }
      : {}),
    ...(auditLog
      ? {
          audit: {
            path: auditLog,
            ...(auditKey ? { keyPem: await readFile(auditKey, 'utf8') } : {}),
          },
        }
      : {}),
    ...(tls ? { tls } : {}),
    ...(limits ? { limits } : {}),
    logOutput: context.io.stderr,
    logLevel,
  };
  if (!storeUrl) return { options };
  return { options, storeUrl, timings, ...(schema === undefined ? {} : { schema }) };
}

/**
 * Runs `plumbline control-plane`: opens the store (a shared PostgreSQL store when `--store`),
 * starts the control plane, prints the listening line and serves until the shutdown signal.
 */
async function runControlPlane(flags: ControlPlaneFlags, context: CommandContext): Promise<void> {
  const { options, storeUrl, schema, timings } = await controlPlaneOptionsFrom(flags, context);
  // One webhook sender per process: a shared store's sweep hands the nodes of dead replicas to
  // the monitor, which announces them through the control plane's own sinks.
  const store = storeUrl
    ? await openPostgresStore(storeUrl, {
        ...timings,
        ...(schema === undefined ? {} : { schema }),
      })
    : undefined;
  let cp: Awaited<ReturnType<typeof startControlPlane>>;
  try {
    cp = await startControlPlane(store ? { ...options, store } : options);
  } catch (error) {
    await store?.close().catch(() => undefined);
    throw error;
  }
  // The sweep leaves alone the nodes whose session ended here (this replica alerted them).
  store?.followSessions(cp.monitor);
  context.io.stdout.write(
    `${JSON.stringify({
      event: 'listening',
      ws: cp.wsUrl,
      ...(cp.barbacaneUrl === undefined ? {} : { barbacane: cp.barbacaneUrl }),
      admin: cp.adminUrl,
    })}\n`,
  );
  await waitForShutdown(context.io.shutdownSignal);
  await cp.close();
}

/**
 * `plumbline control-plane`: the data-plane WebSocket endpoint with the fleet monitor, and the
 * fleet API on a separate admin listener; `plumbline control-plane hash-token` hashes a token for
 * the `--node-tokens` file.
 *
 * @internal
 */
export const controlPlaneCommand: CommandModule = (program, context) => {
  const command = program
    .command('control-plane')
    .description('run a control plane: data-plane WebSocket endpoint, fleet monitor and fleet API')
    .option('--listen <host:port>', 'data-plane WebSocket listener (port 0 picks a free port)')
    .option('--admin-listen <host:port>', 'admin listener: fleet API, /metrics, /healthz')
    .option('--node-tokens <file>', 'JSON { node_id: { cluster, token_sha256 } }')
    .option('--admin-token-file <file>', 'file holding the admin bearer token')
    .option(
      '--read-token-file <file>',
      'file holding a read-only token for the dashboard (no actions, no uploads)',
    )
    .option('--state-file <file>', 'JSON state file (default plumbline-state.json)')
    .option('--store <url>', 'shared store: postgres://… (migrate it first: control-plane migrate)')
    .option('--schema <name>', 'PostgreSQL schema of --store (default plumbline)')
    .option(
      '--replica-timeout <duration>',
      'a --store replica silent this long is dead and its nodes are swept (default 15s, at least 1s)',
    )
    .option(
      '--sweep-interval <duration>',
      'how often the --store sweep leader sweeps and the others try to lead (default 5s, at least 100ms)',
    )
    .option(
      '--heartbeat-interval <duration>',
      'heartbeat interval announced to data planes (default 5s)',
    )
    .option('--webhook <url>', 'send alerts (ConfigurationDrift, …) to this URL')
    .option('--webhook-secret-file <file>', 'HMAC secret signing webhook alerts')
    .option('--audit-log <file>', 'write the audit trail as JSON lines')
    .option('--audit-key <key.pem>', 'sign audit checkpoints (transparency log)')
    .option('--config <file>', 'JSON config file (keys are the long flag names; flags override it)')
    .option('--log-level <level>', 'debug, info, warn or error (default info)')
    .option(
      '--protocol <protocol>',
      'data-plane protocol: ws (Plumbline, default), barbacane (Barbacane data planes on /ws/data-plane) or both (Barbacane on /barbacane/ws/data-plane)',
    )
    .option(
      '--barbacane-keys <file>',
      'JSON [{ project_id, key_sha256, cluster?, node?, label? }] of Barbacane API keys (plumbline barbacane hash-key)',
    )
    .addHelpText(
      'after',
      `
With port 0 it picks free ports and prints {"event":"listening","ws":…,"admin":…} on stdout.
SIGTERM closes sessions (1001), flushes the store and sinks, and exits 0.

Examples:
  echo -n "$NODE_TOKEN" | plumbline control-plane hash-token     # token_sha256 for --node-tokens
  plumbline control-plane --listen 0.0.0.0:8443 --admin-listen 127.0.0.1:9090 \\
    --node-tokens node-tokens.json --admin-token-file admin.token --state-file fleet.json
  plumbline control-plane migrate --store "$PLUMBLINE_STORE" && \\
    plumbline control-plane --store "$PLUMBLINE_STORE" --listen 0.0.0.0:8443 --admin-listen 127.0.0.1:9090 \\
    --node-tokens node-tokens.json --admin-token-file admin.token --webhook https://alerts.example/plumbline \\
    --webhook-secret-file webhook.secret --audit-log audit.jsonl --audit-key audit.key.pem`,
    )
    .action((flags: ControlPlaneFlags) => runControlPlane(flags, context));

  command
    .command('migrate')
    .description('create or upgrade the PostgreSQL fleet store schema (--store postgres://…)')
    .option('--store <url>', 'postgres://… URL of the shared store')
    .option('--schema <name>', 'schema of the tables (default plumbline)')
    .option('--json', 'print JSON')
    .action(async (_: unknown, sub: Command) => {
      // control-plane has --store and --schema too and may have parsed them first.
      const opts = sub.optsWithGlobals<{ store?: string; schema?: string; json?: boolean }>();
      const url = checkStoreUrl(opts.store);
      const result = await migratePostgresStore(
        url,
        opts.schema === undefined ? {} : { schema: opts.schema },
      );
      if (opts.json) {
        context.printJson({
          schema: result.schema,
          from: result.from,
          to: result.to,
          applied: [...result.applied],
        });
      } else if (result.applied.length === 0) {
        context.print(`schema ${result.schema}: version ${result.to} (up to date)`);
      } else {
        context.print(
          `schema ${result.schema}: version ${result.from} -> ${result.to} (applied ${result.applied.join(', ')})`,
        );
      }
    });

  command
    .command('hash-token')
    .description('read a token on standard input and print its SHA-256 for --node-tokens')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const text = (await readStdin(context)).replace(/\r?\n$/, '');
      if (text.length === 0 || /\s/.test(text)) {
        throw new PlumblineError(
          'PLB_USAGE',
          'expected one token without spaces on standard input',
        );
      }
      const hash = hashToken(text);
      if (opts.json) context.printJson({ token_sha256: hash });
      else context.print(hash);
    });
};
