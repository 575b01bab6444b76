import { describeTransportConformance } from '@plumbline/core/testing';
import {
  createWsChannel,
  createWsTransport,
  type NodeAuthenticator,
  type WsConnection,
} from '@plumbline/ws';
import { bearerTokenForTest } from './helpers.js';

await describeTransportConformance('@plumbline/ws', async ({ tokens, maxFrameBytes }) => {
  // An authenticator over the suite's plain tokens, keeping the identities exactly as given.
  const auth: NodeAuthenticator = {
    authenticate(request) {
      const token = bearerTokenForTest(request.headers.authorization);
      if (token === undefined) return { ok: false, reason: 'missing_credentials' };
      const identity = tokens[token];
      if (!identity) return { ok: false, reason: 'invalid_credentials' };
      return { ok: true, identity: { ...identity, method: 'token', credential: token } };
    },
  };
  const transport = createWsTransport({
    auth,
    limits: { maxFrameBytes, messagesPerSecond: 10_000, messageBurst: 10_000 },
  });
  return {
    transport,
    channel: (token) => ({
      connect: (handler, signal) =>
        createWsChannel({ url: transport.url, credentials: { token } }).connect(handler, signal),
    }),
    terminate: (connection) => (connection as WsConnection).terminate(),
  };
});
