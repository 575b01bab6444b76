/**
 * `@plumbline/core/probe/node`: the live-configuration probes that need Node (child processes,
 * `/proc`, files): the command probe, NGINX and HAProxy.
 *
 * @packageDocumentation
 */
export {
  createCommandProbe,
  type CommandProbeOptions,
  type CommandOutputFormat,
} from './command.js';
export { createNginxProbe, type NginxProbeOptions } from './nginx.js';
export { createHaproxyProbe, type HaproxyProbeOptions } from './haproxy.js';
