// Mode facts in one table instead of predicates spread over files (kernel bonding.h has a
// family of bond_mode_* helpers; we keep one row per mode). The only place mode names live.
// hashLine: when /proc shows "Transmit Hash Policy" ('always', or only with tlb_dynamic_lb=0).
// failOverMac: the mode honours fail_over_mac (and /proc shows it after the mode name).
// lacp: the mode runs LACP (and /proc shows the 802.3ad sections).
// ownMacs: every slave keeps a MAC of its own and the active one carries the bond's (tlb, alb).
// dynamicLbOnly: entering the mode turns tlb_dynamic_lb on (kernel bond_option_mode_set, alb).
// queueOverride: a slave's queue_id takes the frames mapped to it (bond_should_override_tx_queue).
// prettier-ignore
export const MODE_INFO = {
  'balance-rr': { id: 0, proc: 'load balancing (round-robin)', usesPrimary: false, arpMonitor: true, needsSpeed: false, hashLine: 'never', failOverMac: false, lacp: false, ownMacs: false, dynamicLbOnly: false, queueOverride: true },
  'active-backup': { id: 1, proc: 'fault-tolerance (active-backup)', usesPrimary: true, arpMonitor: true, needsSpeed: false, hashLine: 'never', failOverMac: true, lacp: false, ownMacs: false, dynamicLbOnly: false, queueOverride: true },
  'balance-xor': { id: 2, proc: 'load balancing (xor)', usesPrimary: false, arpMonitor: true, needsSpeed: false, hashLine: 'always', failOverMac: false, lacp: false, ownMacs: false, dynamicLbOnly: false, queueOverride: false },
  broadcast: { id: 3, proc: 'fault-tolerance (broadcast)', usesPrimary: false, arpMonitor: true, needsSpeed: false, hashLine: 'never', failOverMac: false, lacp: false, ownMacs: false, dynamicLbOnly: false, queueOverride: false },
  '802.3ad': { id: 4, proc: 'IEEE 802.3ad Dynamic link aggregation', usesPrimary: false, arpMonitor: false, needsSpeed: true, hashLine: 'always', failOverMac: false, lacp: true, ownMacs: false, dynamicLbOnly: false, queueOverride: false },
  'balance-tlb': { id: 5, proc: 'transmit load balancing', usesPrimary: true, arpMonitor: false, needsSpeed: true, hashLine: 'static-tlb', failOverMac: false, lacp: false, ownMacs: true, dynamicLbOnly: false, queueOverride: false },
  'balance-alb': { id: 6, proc: 'adaptive load balancing', usesPrimary: true, arpMonitor: false, needsSpeed: true, hashLine: 'static-tlb', failOverMac: false, lacp: false, ownMacs: true, dynamicLbOnly: true, queueOverride: false },
} as const;

export type ModeName = keyof typeof MODE_INFO;
export const MODE_NAMES = Object.keys(MODE_INFO) as ModeName[];

export function modesWhere(pred: (info: (typeof MODE_INFO)[ModeName]) => boolean): ModeName[] {
  return MODE_NAMES.filter((m) => pred(MODE_INFO[m]));
}
