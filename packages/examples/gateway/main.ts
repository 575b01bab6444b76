/**
 * `node --import tsx packages/examples/gateway/main.ts --artifact FILE --admin-token-file FILE
 *  [--port N] [--admin-port N] [--control-plane URL --node-id ID --cluster C --token-file FILE]`:
 *  runs the example gateway, reporting to the control plane when one is given. Prints one JSON line
 * `{"event":"listening","public":"http://…","admin":"http://…","artifact_hash":"sha256:…"}`, or
 * `gateway: CODE: message` on stderr and exit code 1 when the artifact is refused.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PlumblineError } from '@plumbline/core';
import { hashAdminToken } from '@plumbline/core/admin';
import { startGateway } from './gateway.js';

const { values } = parseArgs({
  options: {
    artifact: { type: 'string' },
    'admin-token-file': { type: 'string' },
    port: { type: 'string', default: '0' },
    'admin-port': { type: 'string', default: '0' },
    'control-plane': { type: 'string' },
    'node-id': { type: 'string' },
    cluster: { type: 'string' },
    'token-file': { type: 'string' },
  },
});

try {
  if (values.artifact === undefined || values['admin-token-file'] === undefined) {
    throw new PlumblineError('PLB_USAGE', 'usage: main.ts --artifact FILE --admin-token-file FILE');
  }
  const controlPlane = values['control-plane'];
  if (
    controlPlane !== undefined &&
    (values['node-id'] === undefined ||
      values.cluster === undefined ||
      values['token-file'] === undefined)
  ) {
    throw new PlumblineError(
      'PLB_USAGE',
      '--control-plane needs --node-id, --cluster and --token-file',
    );
  }
  const token = readFileSync(values['admin-token-file'], 'utf8').replace(/\r?\n$/, '');
  const gateway = await startGateway({
    artifact: values.artifact,
    port: Number(values.port),
    adminPort: Number(values['admin-port']),
    adminTokens: [{ id: 'operator', sha256: hashAdminToken(token) }],
    ...(controlPlane === undefined
      ? {}
      : {
          controlPlane: {
            url: controlPlane,
            nodeId: values['node-id']!,
            cluster: values.cluster!,
            tokenFile: values['token-file']!,
          },
        }),
  });
  console.log(
    JSON.stringify({
      event: 'listening',
      public: gateway.publicUrl,
      admin: gateway.adminUrl,
      artifact_hash: gateway.loaded.artifact_hash,
    }),
  );
  const stop = (): void => {
    void gateway.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (error) {
  const code = PlumblineError.is(error) ? error.code : 'PLB_INTERNAL';
  const message = PlumblineError.is(error) ? error.message : 'unexpected error';
  process.stderr.write(`gateway: ${code}: ${message}\n`);
  process.exit(1);
}
