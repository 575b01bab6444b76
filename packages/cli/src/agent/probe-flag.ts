import { PlumblineError } from '@plumbline/core';
import { createCaddyProbe, createHttpJsonProbe, type LiveConfigProbe } from '@plumbline/core/probe';
import {
  createCommandProbe,
  createHaproxyProbe,
  createNginxProbe,
  type CommandOutputFormat,
} from '@plumbline/core/probe/node';

/**
 * The probe flags of `plumbline agent`.
 *
 * @internal
 */
export interface ProbeFlags {
  /** `KIND=TARGET`: `caddy=URL`, `nginx=PIDFILE`, `haproxy=PIDFILE`, `http-json=URL`, `command=PROGRAM ARGS…`. */
  readonly probe: string;
  /** `http-json`: the JSON pointer to the configuration. */
  readonly pointer?: string;
  /** `http-json`: member names to drop (comma-separated). */
  readonly ignore?: string;
  /** `command`: how its output is canonicalized. */
  readonly format?: string;
  /** `caddy`/`http-json`: a bearer token sent to the probe URL only. */
  readonly token?: string;
  /** Per-call timeout in ms. */
  readonly timeoutMs?: number;
}

const FORMATS = ['json', 'nginx', 'haproxy', 'bytes'];

/**
 * Builds the probe `--probe KIND=TARGET` names.
 *
 * @throws {@link @plumbline/core!PlumblineError} `PLB_USAGE` for an unknown kind, a missing
 *   target or an option that does not fit the kind; `PLB_PROBE_INVALID_OPTION` from the probe.
 * @internal
 */
export function probeFromFlags(flags: ProbeFlags): LiveConfigProbe {
  const at = flags.probe.indexOf('=');
  const kind = at < 0 ? flags.probe : flags.probe.slice(0, at);
  const target = at < 0 ? '' : flags.probe.slice(at + 1);
  if (target === '') {
    throw new PlumblineError(
      'PLB_USAGE',
      '--probe takes KIND=TARGET, such as caddy=http://127.0.0.1:2019',
    );
  }
  const headers = flags.token === undefined ? {} : { authorization: `Bearer ${flags.token}` };
  const limits = flags.timeoutMs === undefined ? {} : { timeoutMs: flags.timeoutMs };
  if (flags.format !== undefined && kind !== 'command') {
    throw new PlumblineError('PLB_USAGE', '--probe-format applies to command probes only');
  }
  if ((flags.pointer !== undefined || flags.ignore !== undefined) && kind !== 'http-json') {
    throw new PlumblineError(
      'PLB_USAGE',
      '--probe-pointer and --probe-ignore apply to http-json probes only',
    );
  }
  switch (kind) {
    case 'caddy':
      return createCaddyProbe({ url: target, headers, ...limits });
    case 'http-json':
      return createHttpJsonProbe({
        url: target,
        headers,
        ...limits,
        ...(flags.pointer === undefined ? {} : { pointer: flags.pointer }),
        ...(flags.ignore === undefined
          ? {}
          : { ignoreMembers: flags.ignore.split(',').filter((n) => n !== '') }),
      });
    case 'nginx':
      return createNginxProbe({ pidFile: target, ...limits });
    case 'haproxy':
      return createHaproxyProbe({ pidFile: target, ...limits });
    case 'command': {
      const format = flags.format ?? 'bytes';
      if (!FORMATS.includes(format)) {
        throw new PlumblineError(
          'PLB_USAGE',
          `--probe-format must be one of ${FORMATS.join(', ')}`,
        );
      }
      const [command, ...args] = target.split(/\s+/).filter((w) => w !== '');
      return createCommandProbe({
        command: command!,
        args,
        format: format as CommandOutputFormat,
        ...limits,
      });
    }
    default:
      throw new PlumblineError(
        'PLB_USAGE',
        '--probe kind must be caddy, nginx, haproxy, http-json or command',
      );
  }
}
