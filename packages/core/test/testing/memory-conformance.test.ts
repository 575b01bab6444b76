import { describe, it } from 'vitest';
import { MemoryFleetStore, createMemoryTransport, decideNodeState } from '@plumbline/core/drift';
import {
  describeFleetStoreConformance,
  describeNodeStateRuleConformance,
  describeTransportConformance,
} from '@plumbline/core/testing';

await describeTransportConformance('in-memory transport', async ({ tokens, maxFrameBytes }) => {
  const memory = createMemoryTransport({ tokens, maxFrameBytes });
  return { transport: memory.transport, channel: memory.channel, terminate: memory.terminate };
});

await describeFleetStoreConformance(
  'MemoryFleetStore',
  async () => ({ store: new MemoryFleetStore() }),
  { api: { describe, it } },
);

await describeNodeStateRuleConformance(
  'decideNodeState (monitor and store sweeps)',
  decideNodeState,
);
