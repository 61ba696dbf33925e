//! NDP in a network-namespace lab (the lab is `lb_lab::l2`): real `ndisc6`, the
//! client's kernel and TCP against our driver running in the node namespaces.
//!
//! These need root, `ip`, `ndisc6` and `ping`; they skip with a message otherwise, and fail
//! instead when `LB_LAB=required` (as `.ci/run` sets).
//!
//! The scenarios are `lb_lab::l2_scenarios`, which lb-arp runs with ARP.

use lb_lab::l2_scenarios;

#[test]
fn ndisc6_gets_our_mac_for_the_vip_and_nothing_else() {
    l2_scenarios::the_tool_gets_our_mac_for_the_vip_and_nothing_else::<lb_ndp::Ndp>(
        &l2_scenarios::NDP,
    );
}

#[test]
fn client_kernel_learns_the_mac_tcp_reaches_the_node_and_failover_moves_it() {
    l2_scenarios::the_client_follows_a_takeover::<lb_ndp::Ndp>(&l2_scenarios::NDP);
}

#[test]
fn probe_finds_a_used_address_and_not_a_free_one() {
    l2_scenarios::a_probe_tells_used_from_free::<lb_ndp::Ndp>(&l2_scenarios::NDP);
}

#[test]
fn split_brain_each_watcher_reports_the_other() {
    l2_scenarios::split_brain_each_reports_the_other::<lb_ndp::Ndp>(&l2_scenarios::NDP);
}
