/** Broken node-state rules, each a plausible slip in a store's sweep. */
import {
  decideNodeState,
  type DesiredFacts,
  type NodeFacts,
  type NodeState,
} from '@plumbline/core/drift';
import type { NodeStateRule } from '@plumbline/core/testing';

/** Each flaw and the clause the suite must name. */
export const STATE_RULE_FLAWS = {
  'judges before liveness': 'state-rule.liveness',
  'a disconnected node that was never seen is disconnected': 'state-rule.liveness',
  'judges a node awaiting its report': 'state-rule.awaiting-report',
  'ignores workers': 'state-rule.in-sync',
  'ignores rejected': 'state-rule.rejected',
  'rejected for any failed load': 'state-rule.drift',
  'ignores rollouts': 'state-rule.pending',
  'pending for a pinned node': 'state-rule.pending',
  'pending after the deadline': 'state-rule.pending',
  'no desired state is drift': 'state-rule.unknown',
} as const;

export type StateRuleFlaw = keyof typeof STATE_RULE_FLAWS;

export function flawedRule(flaw: StateRuleFlaw): NodeStateRule {
  return (node: NodeFacts, target: DesiredFacts): NodeState => {
    switch (flaw) {
      case 'judges before liveness':
        if (target.desired !== null && node.reported === target.desired) return 'in_sync';
        break;
      case 'a disconnected node that was never seen is disconnected':
        if (!node.connected) return 'disconnected';
        break;
      case 'judges a node awaiting its report':
        return decideNodeState({ ...node, awaitingReport: false }, target);
      case 'ignores workers':
        return decideNodeState({ ...node, workers: null }, target);
      case 'ignores rejected':
        return decideNodeState({ ...node, last_load_error: null }, target);
      case 'rejected for any failed load': {
        const state = decideNodeState(node, target);
        return state === 'drift' && node.last_load_error !== null ? 'rejected' : state;
      }
      case 'ignores rollouts':
        return decideNodeState(node, { ...target, rollout: null });
      case 'pending for a pinned node':
        return decideNodeState(node, { ...target, pinned: false });
      case 'pending after the deadline':
        return decideNodeState(node, {
          ...target,
          rollout: target.rollout === null ? null : { ...target.rollout, status: 'in_progress' },
        });
      case 'no desired state is drift':
        if (node.connected && !node.stale && !node.awaitingReport && target.desired === null)
          return 'drift';
        break;
    }
    return decideNodeState(node, target);
  };
}
