import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A PEM key and certificate. */
export interface KeyPair {
  key: string;
  cert: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function ca(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

function issue(dir: string, issuer: string, name: string, ext: string): KeyPair {
  writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
  openssl(dir, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${name}`,
  ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${issuer}.crt`,
    '-CAkey',
    `${issuer}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
  return {
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
    cert: readFileSync(join(dir, `${name}.crt`), 'utf8'),
  };
}

const CLIENT = 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\nkeyUsage=digitalSignature';

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
