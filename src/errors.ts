// Stable error codes, mirroring the kernel's option errnos (bond_options.c), plus port errors.
export type BondErrorCode =
  | 'EOPT_UNKNOWN' // no such option
  | 'EOPT_VALUE' // -EINVAL: value not allowed
  | 'EOPT_MODE' // -EACCES: option not valid in this mode
  | 'EOPT_BUSY' // -EBUSY: bond must be down
  | 'EOPT_HAS_PORTS' // -ENOTEMPTY: bond must have no slaves
  | 'EOPT_CONFLICT' // two options that cannot go together
  | 'EOPT_READONLY' // may not change while the daemon runs
  | 'EOPT_UNSUPPORTED' // known kernel option that this version does not implement yet
  | 'EPORT_UNKNOWN'
  | 'EPORT_EXISTS'
  | 'EPORT_INVALID'
  | 'ECONTROL'
  | 'EJOURNAL' // the crash journal cannot be read
  | 'EBUSY' // another live daemon runs this bond
  | 'ETAP_GONE' // the bond's TAP was deleted under the daemon
  | 'EDATAPATH' // --datapath kernel, and the kernel fast path cannot run
  | 'EPERM'; // missing capabilities

export class BondError extends Error {
  readonly code: BondErrorCode;
  constructor(code: BondErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'BondError';
  }
}
