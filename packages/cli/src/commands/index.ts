import type { CommandModule } from '../context.js';

/**
 * One command of the CLI: its name on the command line and how to load the module that registers it
 * (with its subcommands). Modules load only when their command runs (or when help lists them all),
 * so `plumbline --version` or `plumbline manifest` never loads Sigstore, CycloneDX, pg or ws.
 *
 * @internal
 */
export interface LazyCommand {
  /** The command's name, as the module registers it with `program.command(name)`. */
  readonly name: string;
  /** Loads the module and gives its registration function. */
  readonly load: () => Promise<CommandModule>;
}

/**
 * Every command of the CLI, in the order `--help` lists them. Each module registers one command
 * (and its subcommands) in its own file under `commands/`.
 *
 * @internal
 */
export const commands: readonly LazyCommand[] = [
  { name: 'manifest', load: async () => (await import('./manifest.js')).manifestCommand },
  { name: 'prove', load: async () => (await import('./prove.js')).proveCommand },
  {
    name: 'verify-proof',
    load: async () => (await import('./verify-proof.js')).verifyProofCommand,
  },
  { name: 'diff', load: async () => (await import('./diff.js')).diffCommand },
  { name: 'oci-labels', load: async () => (await import('./oci-labels.js')).ociLabelsCommand },
  {
    name: 'verify-image',
    load: async () => (await import('./verify-image.js')).verifyImageCommand,
  },
  { name: 'sbom', load: async () => (await import('./sbom.js')).sbomCommand },
  { name: 'seal', load: async () => (await import('./seal.js')).sealCommand },
  { name: 'inspect', load: async () => (await import('./inspect.js')).inspectCommand },
  { name: 'verify', load: async () => (await import('./verify.js')).verifyCommand },
  {
    name: 'control-plane',
    load: async () => (await import('./control-plane.js')).controlPlaneCommand,
  },
  { name: 'agent', load: async () => (await import('./agent.js')).agentCommand },
  { name: 'fleet', load: async () => (await import('./fleet.js')).fleetCommand },
  { name: 'attest', load: async () => (await import('./attest.js')).attestCommand },
  { name: 'sign', load: async () => (await import('./sign.js')).signCommand },
  {
    name: 'verify-signature',
    load: async () => (await import('./verify-signature.js')).verifySignatureCommand,
  },
  { name: 'keygen', load: async () => (await import('./keygen.js')).keygenCommand },
  { name: 'audit', load: async () => (await import('./audit.js')).auditCommand },
  { name: 'barbacane', load: async () => (await import('./barbacane.js')).barbacaneCommand },
  { name: 'completion', load: async () => (await import('./completion.js')).completionCommand },
];

/** Options the program itself takes before a command name; none of them takes a value. */
const GLOBAL_FLAGS = new Set(['--debug', '-V', '--version', '-h', '--help']);

/**
 * The commands a run of `argv` needs registered: none for `--version` alone, the one named for
 * `plumbline <command> …` or `plumbline help <command>`, and all of them otherwise (the program's
 * help lists them; an unknown name gets commander's "did you mean" suggestion from all of them).
 *
 * @internal
 */
export function commandsFor(argv: readonly string[]): readonly LazyCommand[] {
  const words = argv.filter((arg) => !GLOBAL_FLAGS.has(arg));
  const asksVersion = argv.some((arg) => arg === '-V' || arg === '--version');
  const asksHelp = argv.some((arg) => arg === '-h' || arg === '--help');
  if (words.length === 0) return asksVersion && !asksHelp ? [] : commands;
  const name = words[0] === 'help' ? words[1] : words[0];
  const found = commands.find((command) => command.name === name);
  // A completion script covers every command, so `completion` needs them all registered.
  return found === undefined || found.name === 'completion' ? commands : [found];
}
