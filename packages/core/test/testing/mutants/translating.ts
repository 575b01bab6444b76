/**
 * A byte-for-byte transport seen through the translating mode: a client adapter whose wire
 * form is the drift protocol itself (hello as the first frame, heartbeats with a rising seq).
 */
import type { DriftConnection } from '@plumbline/core/drift';
import type {
  TransportFactory,
  TransportFrame,
  TranslatingConnection,
  TranslatingTransportFactory,
} from '@plumbline/core/testing';

function wireConnection(
  connection: DriftConnection,
  terminate: (c: DriftConnection) => void,
): TranslatingConnection {
  // A heartbeat of the drift protocol: a rising seq, and the last hash when none is reported.
  let seq = 0;
  let last: unknown = null;
  const wire = (frame: TransportFrame): string => {
    last = frame['artifact_hash'] ?? last;
    seq += 1;
    return JSON.stringify({ ...frame, seq, artifact_hash: last });
  };
  return {
    send: (frame) => connection.send(wire(frame)),
    // Padded with a 3-byte character, so that a frame's UTF-8 size is not its length.
    sendSized(frame, bytes) {
      const text = wire(frame);
      const missing = bytes - new TextEncoder().encode(text).length;
      const pad = `${'€'.repeat(Math.floor((missing - 12) / 3))}`;
      const padded = `${text.slice(0, -1)},"pad":"${pad}"}`;
      const rest = bytes - new TextEncoder().encode(padded).length;
      connection.send(padded + ' '.repeat(rest));
    },
    close: (code, reason) => connection.close(code, reason),
    terminate: () => terminate(connection),
  };
}

/** `factory`'s transport driven through the translating mode's client adapter. */
export function asTranslating(factory: TransportFactory): TranslatingTransportFactory {
  return async (options) => {
    const harness = await factory(options);
    return {
      transport: harness.transport,
      ...(harness.dispose === undefined ? {} : { dispose: () => harness.dispose!() }),
      client: {
        async connect(token, hello, handler) {
          let answered: () => void = () => undefined;
          const welcome = new Promise<void>((resolve) => (answered = resolve));
          let open = false;
          const connection = await harness.channel(token).connect({
            onMessage(text) {
              const frame = JSON.parse(text) as TransportFrame;
              if (!open && frame['type'] === 'welcome') {
                open = true;
                answered();
              } else handler.onFrame(frame);
            },
            onClose(code, reason) {
              handler.onClose(code, reason);
              answered();
            },
          });
          connection.send(JSON.stringify(hello));
          await welcome;
          return wireConnection(connection, (c) => harness.terminate(c));
        },
      },
    };
  };
}
