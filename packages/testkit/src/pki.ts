import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM key and certificate. */
export interface KeyPair {
  key: string;
  cert: string;
}

/** Certificates made for one test run with `openssl`. */
export interface TestPki {
  caCert: string;
  server: KeyPair;
  /** Client with SPIFFE ID spiffe://example.org/ops/alice. */
  alice: KeyPair;
  /** Client with SPIFFE ID spiffe://example.org/ci/bob (not allowed by the tests' list). */
  bob: KeyPair;
  /** Client certificate with only a DNS SAN. */
  noSpiffe: KeyPair;
  /** Client with two SPIFFE URI SANs (not a valid SVID). */
  twoSpiffe: KeyPair;
  /** spiffe://example.org/ops/alice, issued by another CA. */
  foreign: KeyPair;
  /** spiffe://example.org/ops/alice, already expired. */
  expired: KeyPair;
  cleanup(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Makes a self-signed P-256 CA `<name>.key`/`<name>.crt` in `dir`. */
export function makeCa(dir: string, name: string): void {
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

/** Issues `<name>` from CA `ca` in `dir` with the X.509 extensions `ext`, valid for `days`. */
export function issue(dir: string, ca: string, name: string, ext: string, days = 2): KeyPair {
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
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    String(days),
    '-extfile',
    `${name}.ext`,
  ]);
  return {
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
    cert: readFileSync(join(dir, `${name}.crt`), 'utf8'),
  };
}

/** Extensions of a client certificate (add a subjectAltName line). */
export const CLIENT =
  'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\nkeyUsage=digitalSignature';

/** Makes a CA, a server certificate for 127.0.0.1/localhost and the client certificates. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'plumbline-pki-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  const pki: TestPki = {
    caCert: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    server: issue(
      dir,
      'ca',
      'server',
      'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost',
    ),
    alice: issue(
      dir,
      'ca',
      'alice',
      `${CLIENT}\nsubjectAltName=URI:spiffe://example.org/ops/alice`,
    ),
    bob: issue(dir, 'ca', 'bob', `${CLIENT}\nsubjectAltName=URI:spiffe://example.org/ci/bob`),
    noSpiffe: issue(dir, 'ca', 'nospiffe', `${CLIENT}\nsubjectAltName=DNS:client.example`),
    twoSpiffe: issue(
      dir,
      'ca',
      'twospiffe',
      `${CLIENT}\nsubjectAltName=URI:spiffe://example.org/ops/alice,URI:spiffe://example.org/ops/carol`,
    ),
    foreign: issue(
      dir,
      'other-ca',
      'foreign',
      `${CLIENT}\nsubjectAltName=URI:spiffe://example.org/ops/alice`,
    ),
    expired: issue(
      dir,
      'ca',
      'expired',
      `${CLIENT}\nsubjectAltName=URI:spiffe://example.org/ops/alice`,
      -1,
    ),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  return pki;
}
