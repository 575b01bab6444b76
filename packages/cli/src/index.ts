/**
 * `@plumbline/cli`: the `plumbline` command line, usable in-process through {@link run}.
 *
 * @packageDocumentation
 */
export { run } from './main.js';
export { ExitCode, type ExitCodeValue } from './exit-codes.js';
export type { CliIO, CliWritable } from './io.js';
export type { CommandContext, CommandModule } from './context.js';
export {
  startControlPlane,
  type ControlPlaneOptions,
  type RunningControlPlane,
} from './control-plane/start.js';
export { startAgent, type AgentOptions, type RunningAgent } from './agent/start.js';
export type { LogLevel } from './control-plane/log.js';
