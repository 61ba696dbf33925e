//! NDP in a network-namespace lab (the lab is `lb_lab::l2`): real `ndisc6`, the
//! client's kernel and TCP against our driver running in the node namespaces.
//!
//! These need root, `ip`, `ndisc6` and `ping`; they skip with a message otherwise, and fail
//! instead when `LB_LAB=required` (as `.ci/run` sets).
//!
//! The scenarios are `lb_lab::l2_scenarios`, which lb-arp runs with ARP.

lb_lab::l2_scenario_tests!(lb_ndp::Ndp, NDP);
