// Open vSwitch as an independent LACP partner: one lab for the tests and the scripts
// (scripts/lib/ovs.mjs, typechecked with the rest).
export { haveOvs, Ovs } from '../../scripts/lib/ovs.mjs';
