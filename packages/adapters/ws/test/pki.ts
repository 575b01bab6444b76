import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENT, issue, makeCa as ca, type KeyPair } from '@plumbline/testkit/pki';

/** A CA, a server certificate for 127.0.0.1, node certificates with SPIFFE IDs, and a foreign one. */
export function makePki(): {
  caCert: string;
  server: KeyPair;
  gw1: KeyPair;
  foreign: KeyPair;
  cleanup(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'plumbline-ws-pki-'));
  ca(dir, 'ca');
  ca(dir, 'other');
  return {
    caCert: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    server: issue(
      dir,
      'ca',
      'server',
      'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1',
    ),
    gw1: issue(
      dir,
      'ca',
      'gw1',
      `${CLIENT}\nsubjectAltName=URI:spiffe://example.org/cluster/prod/node/gw-1`,
    ),
    foreign: issue(
      dir,
      'other',
      'foreign',
      `${CLIENT}\nsubjectAltName=URI:spiffe://example.org/cluster/prod/node/gw-1`,
    ),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
