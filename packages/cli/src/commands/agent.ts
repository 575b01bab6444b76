import { resolve } from 'node:path';
import { PlumblineError } from '@plumbline/core';
import { readTokenFile } from '@plumbline/ws';
import type { CommandContext, CommandModule } from '../context.js';
import { parseDuration, parseListen } from '../control-plane/parse.js';
import { waitForShutdown } from '../control-plane/shutdown.js';
import { parseLogLevel } from '../control-plane/log.js';
import type { LiveConfigProbe } from '@plumbline/core/probe';
import { startAgent } from '../agent/start.js';
import { probeFromFlags } from '../agent/probe-flag.js';

interface AgentFlags {
  artifact: string;
  controlPlane: string;
  nodeId: string;
  cluster: string;
  tokenFile: string;
  adminListen?: string;
  adminTokenFile?: string;
  heartbeatInterval?: string;
  rehashInterval?: string;
  policy?: string;
  logLevel?: string;
  probe?: string;
  probeInterval?: string;
  probeTimeout?: string;
  probePointer?: string;
  probeIgnore?: string;
  probeFormat?: string;
  probeTokenFile?: string;
}

/**
 * `plumbline agent`: the data-plane sidecar for gateways not written in JavaScript.
 *
 * @internal
 */
export const agentCommand: CommandModule = (program, context) => {
  program
    .command('agent')
    .description('report the artifact a gateway runs to a control plane, and serve its provenance')
    .requiredOption('--artifact <file>', 'the artifact file the gateway runs')
    .requiredOption('--control-plane <url>', 'ws(s)://host:port/ws/data-plane')
    .requiredOption('--node-id <id>', 'this node (must match the token)')
    .requiredOption('--cluster <cluster>', 'its cluster (must match the token)')
    .requiredOption('--token-file <file>', 'file holding the node token (re-read on reconnect)')
    .option('--admin-listen <host:port>', 'serve GET /_admin/provenance on this loopback address')
    .option('--admin-token-file <file>', 'file holding the admin endpoint bearer token')
    .option(
      '--heartbeat-interval <duration>',
      'heartbeat interval until the control plane sets one (default 5s)',
    )
    .option(
      '--rehash-interval <duration>',
      're-hash the artifact this often to catch in-place edits (default 60s)',
    )
    .option(
      '--policy <mode>',
      'verification mode of the artifact on disk: warn or enforce (default warn)',
    )
    .option('--log-level <level>', 'debug, info, warn or error (default info)')
    .option(
      '--probe <kind=target>',
      'also report the live configuration: caddy=URL, nginx=PIDFILE, haproxy=PIDFILE, http-json=URL or command=PROGRAM ARGS',
    )
    .option('--probe-interval <duration>', 'probe this often (default the heartbeat interval)')
    .option('--probe-timeout <duration>', 'longest a probe call may take (default 5s)')
    .option('--probe-pointer <pointer>', 'http-json: JSON pointer to the configuration')
    .option('--probe-ignore <names>', 'http-json: comma-separated member names to drop')
    .option('--probe-format <format>', 'command: json, nginx, haproxy or bytes (default bytes)')
    .option('--probe-token-file <file>', 'caddy/http-json: bearer token sent to the probe URL only')
    .addHelpText(
      'after',
      `
A refused token or identity (close code 4401/4403) is logged with what to fix; the agent then
retries at the maximum backoff.

Examples:
  plumbline agent --artifact /etc/gw/gateway.plb --control-plane wss://cp.example:8443/ws/data-plane \\
    --node-id gw-1 --cluster prod-eu --token-file /run/secrets/gw-1.token
  plumbline agent --artifact /etc/gw/gateway.plb --control-plane ws://127.0.0.1:8443/ws/data-plane \\
    --node-id gw-1 --cluster prod-eu --token-file gw-1.token --policy enforce \\
    --admin-listen 127.0.0.1:9901 --admin-token-file admin.token   # serves GET /_admin/provenance
  plumbline agent --artifact caddy.plb --control-plane ws://127.0.0.1:8443/ws/data-plane \\
    --node-id edge-1 --cluster prod-eu --token-file edge-1.token \\
    --probe caddy=http://127.0.0.1:2019   # also reports Caddy's running configuration`,
    )
    .action((flags: AgentFlags) => runAgent(flags, context));
};

/** The probe of `--probe` and its flags; the probe flags without `--probe` are refused. */
async function probeOf(flags: AgentFlags, cwd: string): Promise<LiveConfigProbe | undefined> {
  if (flags.probe === undefined) {
    for (const [flag, value] of [
      ['--probe-interval', flags.probeInterval],
      ['--probe-timeout', flags.probeTimeout],
      ['--probe-pointer', flags.probePointer],
      ['--probe-ignore', flags.probeIgnore],
      ['--probe-format', flags.probeFormat],
      ['--probe-token-file', flags.probeTokenFile],
    ] as const) {
      if (value !== undefined) throw new PlumblineError('PLB_USAGE', `${flag} needs --probe`);
    }
    return undefined;
  }
  return probeFromFlags({
    probe: flags.probe,
    ...(flags.probePointer === undefined ? {} : { pointer: flags.probePointer }),
    ...(flags.probeIgnore === undefined ? {} : { ignore: flags.probeIgnore }),
    ...(flags.probeFormat === undefined ? {} : { format: flags.probeFormat }),
    ...(flags.probeTimeout === undefined
      ? {}
      : { timeoutMs: parseDuration(flags.probeTimeout, '--probe-timeout') }),
    ...(flags.probeTokenFile === undefined
      ? {}
      : { token: await readTokenFile(resolve(cwd, flags.probeTokenFile)) }),
  });
}

/** The durations of the interval flags, in ms. */
function intervalsOf(flags: AgentFlags) {
  return {
    ...(flags.heartbeatInterval
      ? { heartbeatIntervalMs: parseDuration(flags.heartbeatInterval, '--heartbeat-interval') }
      : {}),
    ...(flags.rehashInterval
      ? { rehashIntervalMs: parseDuration(flags.rehashInterval, '--rehash-interval') }
      : {}),
  };
}

/** `plumbline agent`: checks the flags, starts the agent and runs it until shutdown. */
async function runAgent(flags: AgentFlags, context: CommandContext): Promise<void> {
  const cwd = context.io.cwd;
  if (flags.adminListen && !flags.adminTokenFile) {
    throw new PlumblineError('PLB_USAGE', '--admin-listen needs --admin-token-file');
  }
  const policy = flags.policy ?? 'warn';
  if (policy !== 'warn' && policy !== 'enforce') {
    throw new PlumblineError('PLB_USAGE', '--policy must be warn or enforce');
  }
  const logLevel = parseLogLevel(flags.logLevel);
  const adminListen = flags.adminListen
    ? parseListen(flags.adminListen, '--admin-listen')
    : undefined;
  const probe = await probeOf(flags, cwd);
  const tokenFile = resolve(cwd, flags.tokenFile);
  await readTokenFile(tokenFile); // fail fast on a missing or malformed token file
  const agent = await startAgent({
    artifact: resolve(cwd, flags.artifact),
    controlPlane: flags.controlPlane,
    nodeId: flags.nodeId,
    cluster: flags.cluster,
    tokenFile,
    ...(adminListen ? { adminListen } : {}),
    ...(flags.adminTokenFile
      ? { adminToken: await readTokenFile(resolve(cwd, flags.adminTokenFile)) }
      : {}),
    ...intervalsOf(flags),
    policy: { mode: policy },
    logOutput: context.io.stderr,
    logLevel,
    ...(probe === undefined ? {} : { probe }),
    ...(flags.probeInterval
      ? { probeIntervalMs: parseDuration(flags.probeInterval, '--probe-interval') }
      : {}),
  });
  if (agent.adminUrl !== undefined) {
    context.io.stdout.write(`${JSON.stringify({ event: 'listening', admin: agent.adminUrl })}\n`);
  }
  await waitForShutdown(context.io.shutdownSignal);
  await agent.close();
}
