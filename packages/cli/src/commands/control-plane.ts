import type { Command } from 'commander';
import { PlumblineError } from '@plumbline/core';
import { hashToken, readTokenFile, type ControlPlaneLimits } from '@plumbline/ws';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { CommandContext, CommandModule } from '../context.js';
import {
  controlPlaneConfigSchema,
  readConfigFile,
  type ControlPlaneConfig,
} from '../control-plane/config.js';
import { parseDuration, parseListen } from '../control-plane/parse.js';
import { startControlPlane, type ControlPlaneOptions } from '../control-plane/start.js';
import { checkStoreUrl, migratePostgresStore, openPostgresStore } from '../control-plane/store.js';
import type { LogLevel } from '../control-plane/log.js';
import { waitForShutdown } from '../control-plane/shutdown.js';
import { parseProtocol } from '../control-plane/barbacane.js';

interface ControlPlaneFlags {
  listen?: string;
  adminListen?: string;
  nodeTokens?: string;
  adminTokenFile?: string;
  stateFile?: string;
  store?: string;
  schema?: string;
  heartbeatInterval?: string;
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

/**
 * Builds {@link ControlPlaneOptions} from flags and the config file (flags win).
 *
 * @internal
 */
export async function controlPlaneOptionsFrom(
  flags: ControlPlaneFlags,
  context: CommandContext,
): Promise<{ options: ControlPlaneOptions; storeUrl?: string; schema?: string }> {
  const cwd = context.io.cwd;
  const config: ControlPlaneConfig = flags.config
    ? await readConfigFile(resolve(cwd, flags.config), controlPlaneConfigSchema)
    : {};
  const pick = <T>(flag: T | undefined, key: keyof ControlPlaneConfig): T | undefined =>
    flag ?? (config[key] as T | undefined);
  const path = (p: string | undefined): string | undefined =>
    p === undefined ? undefined : resolve(cwd, p);

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
  const adminTokenFile = path(pick(flags.adminTokenFile, 'admin-token-file'));
  if (!adminTokenFile) throw new PlumblineError('PLB_USAGE', '--admin-token-file FILE is required');
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
  const stateFile = path(pick(flags.stateFile, 'state-file'));
  const storeUrl = pick(flags.store, 'store');
  if (stateFile && storeUrl)
    throw new PlumblineError('PLB_USAGE', 'give either --state-file or --store, not both');
  if (storeUrl !== undefined) checkStoreUrl(storeUrl);
  const schema = pick(flags.schema, 'schema');
  if (schema !== undefined && !storeUrl)
    throw new PlumblineError('PLB_USAGE', '--schema needs --store postgres://…');
  const heartbeat = flags.heartbeatInterval ?? config['heartbeat-interval'];
  const webhook = pick(flags.webhook, 'webhook');
  const webhookSecretFile = path(pick(flags.webhookSecretFile, 'webhook-secret-file'));
  if (webhook && !webhookSecretFile) {
    throw new PlumblineError(
      'PLB_USAGE',
      '--webhook needs --webhook-secret-file (alerts are signed)',
    );
  }
  if (webhook) {
    let url: URL | undefined;
    try {
      url = new URL(webhook);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new PlumblineError('PLB_USAGE', '--webhook must be an http(s) URL');
    }
  }
  const auditLog = path(pick(flags.auditLog, 'audit-log'));
  const auditKey = path(pick(flags.auditKey, 'audit-key'));
  if (auditKey && !auditLog) throw new PlumblineError('PLB_USAGE', '--audit-key needs --audit-log');
  const logLevel = (flags.logLevel ?? config['log-level'] ?? 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    throw new PlumblineError('PLB_USAGE', '--log-level must be debug, info, warn or error');
  }
  const tls = config.tls
    ? {
        cert: await readFile(resolve(cwd, config.tls.cert)),
        key: await readFile(resolve(cwd, config.tls.key)),
        ...(config.tls.ca ? { ca: await readFile(resolve(cwd, config.tls.ca)) } : {}),
        ...(config.tls['client-auth'] ? { clientAuth: config.tls['client-auth'] } : {}),
      }
    : undefined;
  const limits = limitsOf(config.limits);
  const heartbeatIntervalMs = durationOf(
    heartbeat,
    flags.heartbeatInterval ? '--heartbeat-interval' : 'heartbeat-interval',
  );
  const options: ControlPlaneOptions = {
    listen,
    adminListen,
    adminToken: await readTokenFile(adminTokenFile),
    ...(nodeTokens ? { nodeTokens } : {}),
    ...(trustDomains ? { mtlsTrustDomains: trustDomains } : {}),
    store: stateFile ?? resolve(cwd, 'plumbline-state.json'),
    ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
    ...(config['stale-after'] === undefined ? {} : { staleAfterIntervals: config['stale-after'] }),
    ...(webhook && webhookSecretFile
      ? { webhook: { url: webhook, secret: await readTokenFile(webhookSecretFile) } }
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
    ...(protocol === 'ws' ? {} : { protocol, ...(barbacaneKeys ? { barbacaneKeys } : {}) }),
  };
  if (!storeUrl) return { options };
  return schema === undefined ? { options, storeUrl } : { options, storeUrl, schema };
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
    .option('--state-file <file>', 'JSON state file (default plumbline-state.json)')
    .option('--store <url>', 'shared store: postgres://… (migrate it first: control-plane migrate)')
    .option('--schema <name>', 'PostgreSQL schema of --store (default plumbline)')
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
    .action(async (flags: ControlPlaneFlags) => {
      const { options, storeUrl, schema } = await controlPlaneOptionsFrom(flags, context);
      // One webhook sender per process: a shared store's sweep hands the nodes of dead replicas to
      // the monitor, which announces them through the control plane's own sinks.
      const store = storeUrl
        ? await openPostgresStore(storeUrl, schema === undefined ? {} : { schema })
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
    });

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
