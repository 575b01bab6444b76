import type { CommandModule } from '../context.js';
import { manifestCommand } from './manifest.js';
import { proveCommand } from './prove.js';
import { verifyProofCommand } from './verify-proof.js';
import { diffCommand } from './diff.js';
import { ociLabelsCommand } from './oci-labels.js';
import { verifyImageCommand } from './verify-image.js';
import { sbomCommand } from './sbom.js';
import { sealCommand } from './seal.js';
import { inspectCommand } from './inspect.js';
import { verifyCommand } from './verify.js';
import { controlPlaneCommand } from './control-plane.js';
import { agentCommand } from './agent.js';
import { fleetCommand } from './fleet.js';
import { attestCommand } from './attest.js';
import { signCommand } from './sign.js';
import { verifySignatureCommand } from './verify-signature.js';
import { keygenCommand } from './keygen.js';
import { auditCommand } from './audit.js';
import { barbacaneCommand } from './barbacane.js';

/**
 * Every command of the CLI, in the order `--help` lists them. Each module registers one command
 * (and its subcommands) in its own file under `commands/`.
 *
 * @internal
 */
export const commands: readonly CommandModule[] = [
  manifestCommand,
  proveCommand,
  verifyProofCommand,
  diffCommand,
  ociLabelsCommand,
  verifyImageCommand,
  sbomCommand,
  sealCommand,
  inspectCommand,
  verifyCommand,
  controlPlaneCommand,
  agentCommand,
  fleetCommand,
  attestCommand,
  signCommand,
  verifySignatureCommand,
  keygenCommand,
  auditCommand,
  barbacaneCommand,
];
