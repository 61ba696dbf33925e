#!/usr/bin/env bash
# Captures real BGP messages from BIRD 2, FRR and GoBGP for lb-bgp's byte fixtures.
#
# How it was used (once, as root, on the development machine):
#   bash lb-bgp/lab/capture.sh            # writes /tmp/lbbgp-capture/bgp.pcap and messages.txt
#   python3 lb-bgp/lab/split.py /tmp/lbbgp-capture/bgp.pcap > /tmp/lbbgp-capture/messages.txt
#   python3 lb-bgp/lab/fixtures.py /tmp/lbbgp-capture/messages.txt > lb-bgp/tests/fixtures/captured.rs
#   python3 lb-bgp/lab/seed_corpus.py
# The README example's UPDATE was pasted from an earlier run of the same script.
#
# It reuses the shared lab recipe ($LAB_SH: namespaces, veth, bridge) with the prefix `lbbgp`, writes its own
# daemon configs (communities, large communities, ADD-PATH, graceful restart ...), captures on
# the lab bridge, and tears everything down. Traffic stays on 192.0.2.0/24 and 2001:db8:1::/64
# inside namespaces it created.
#
# Topology: router = BIRD (AS 64500), node1 = FRR (AS 64511), node2 = GoBGP (AS 4200000002).
set -u
LAB_SH=${LAB_SH:-/work/shared/lab/lab.sh}
export LAB_PREFIX=lbbgp
export LAB_DIR=/tmp/lbbgp-lab
OUT=${OUT:-/tmp/lbbgp-capture}
# shellcheck disable=SC1090
source "$LAB_SH"
mkdir -p "$OUT"
trap 'lab_down >/dev/null 2>&1' EXIT

lab_up router node1 node2 || exit 1
lab_capture sw br0 cap tcp port 179

# ---- BIRD on router
d="$LAB_DIR/bird-router"; mkdir -p "$d"
cat >"$d/bird.conf" <<CONF
log stderr all;
router id 192.0.2.1;
protocol device { scan time 10; }
protocol static s4 { ipv4;
  route 198.51.100.10/32 blackhole { bgp_community.add((64500,100)); bgp_community.add((65535,65281)); bgp_large_community.add((64500,1,2)); bgp_med = 50; };
  route 198.51.100.11/32 blackhole;
}
protocol static s6 { ipv6;
  route 2001:db8:100::10/128 blackhole { bgp_community.add((64500,200)); bgp_large_community.add((64500,3,4)); };
}
template bgp T { local as 64500; hold time 9; keepalive time 3; connect delay time 1; connect retry time 2;
  error wait time 1, 10; graceful restart on; enable extended messages on; }
protocol bgp frr4 from T { neighbor 192.0.2.11 as 64511; ipv4 { import all; export all; add paths on; }; }
protocol bgp frr6 from T { neighbor 2001:db8:1::11 as 64511; ipv6 { import all; export all; }; }
protocol bgp gob4 from T { neighbor 192.0.2.12 as 4200000002; ipv4 { import all; export all; extended next hop on; }; }
protocol bgp gob6 from T { neighbor 2001:db8:1::12 as 4200000002; ipv6 { import all; export all; }; }
CONF
bird -p -c "$d/bird.conf" || exit 1
lab_spawn router bird-router bird -f -c "$d/bird.conf" -s "$d/bird.ctl" >/dev/null

# ---- FRR on node1
d="$LAB_DIR/frr-node1"; mkdir -p "$d"
printf 'hostname node1\nlog stdout informational\n' >"$d/zebra.conf"
cat >"$d/bgpd.conf" <<CONF
frr defaults traditional
hostname node1
log stdout informational
route-map TAG permit 10
 set community 64511:100 no-export
 set large-community 64511:5:6
 set extcommunity rt 64511:7
 set local-preference 200
route-map ANY permit 10
router bgp 64511
 bgp router-id 192.0.2.11
 no bgp ebgp-requires-policy
 no bgp network import-check
 no bgp default ipv4-unicast
 timers bgp 3 9
 neighbor 192.0.2.1 remote-as 64500
 neighbor 192.0.2.1 timers connect 2
 neighbor 2001:db8:1::1 remote-as 64500
 neighbor 2001:db8:1::1 timers connect 2
 address-family ipv4 unicast
  network 198.51.100.20/32 route-map TAG
  network 198.51.100.21/32
  neighbor 192.0.2.1 activate
  neighbor 192.0.2.1 addpath-tx-all-paths
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:100::20/128 route-map TAG
  neighbor 2001:db8:1::1 activate
 exit-address-family
CONF
chown -R frr:frr "$d"
lab_spawn node1 frr-zebra-node1 /usr/lib/frr/zebra -f "$d/zebra.conf" -i "$d/zebra.pid" -z "$d/zserv.api" --vty_socket "$d" -P 0 >/dev/null
for i in $(seq 1 100); do [ -S "$d/zserv.api" ] && break; sleep 0.05; done
lab_spawn node1 frr-bgpd-node1 /usr/lib/frr/bgpd -z "$d/zserv.api" -f "$d/bgpd.conf" -i "$d/bgpd.pid" --vty_socket "$d" -P 0 >/dev/null

# ---- GoBGP on node2
d="$LAB_DIR/gobgp-node2"; mkdir -p "$d"
cat >"$d/gobgpd.toml" <<CONF
[global.config]
  as = 4200000002
  router-id = "192.0.2.12"
  port = 179
  local-address-list = ["192.0.2.12", "2001:db8:1::12"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "192.0.2.1"
    peer-as = 64500
  [neighbors.timers.config]
    connect-retry = 2
    hold-time = 9
    keepalive-interval = 3
  [neighbors.transport.config]
    local-address = "192.0.2.12"
  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 120
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.add-paths.config]
      receive = true
      send-max = 2
[[neighbors]]
  [neighbors.config]
    neighbor-address = "2001:db8:1::1"
    peer-as = 64500
  [neighbors.timers.config]
    connect-retry = 2
    hold-time = 9
    keepalive-interval = 3
  [neighbors.transport.config]
    local-address = "2001:db8:1::12"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
CONF
lab_spawn node2 gobgpd-node2 gobgpd -f "$d/gobgpd.toml" -p --api-hosts=127.0.0.1:50051 --pprof-disable >/dev/null
sleep 2
G() { lab_exec node2 gobgp -u 127.0.0.1 -p 50051 "$@"; }
G global rib -a ipv4 add 198.51.100.30/32 origin igp nexthop 192.0.2.12 community 4200:300,no-advertise large-community 4200000002:7:8 med 10
G global rib -a ipv6 add 2001:db8:100::30/128 origin igp nexthop 2001:db8:1::12 community 4200:301 large-community 4200000002:9:10

# let sessions come up (GoBGP floors connect retry at 5 s) and routes flow
sleep 14
birdc -s "$LAB_DIR/bird-router/bird.ctl" show protocols > "$OUT/bird-protocols.txt" 2>&1
# ROUTE-REFRESH: BIRD asks FRR (enhanced refresh → FRR answers with BoRR/EoRR)
birdc -s "$LAB_DIR/bird-router/bird.ctl" reload in frr4 >/dev/null 2>&1
vtysh --vty_socket "$LAB_DIR/frr-node1" -c "clear bgp 192.0.2.1 soft in" >/dev/null 2>&1
sleep 2
# withdrawals
G global rib -a ipv4 del 198.51.100.30/32
G global rib -a ipv6 del 2001:db8:100::30/128
sleep 2
# NOTIFICATIONs: shutdown communications (RFC 8203/9003) from each daemon
# birdc joins its arguments: the message needs its own quotes.
birdc -s "$LAB_DIR/bird-router/bird.ctl" disable frr6 '"lbbgp: bird maintenance"' >"$OUT/birdc-disable.txt" 2>&1
birdc -s "$LAB_DIR/bird-router/bird.ctl" restart gob4 '"lbbgp: bird reset"' >"$OUT/birdc-restart.txt" 2>&1
vtysh --vty_socket "$LAB_DIR/frr-node1" -c "configure terminal" -c "router bgp 64511" -c "neighbor 192.0.2.1 shutdown message lbbgp: frr maintenance" >/dev/null 2>&1
# (-r is gobgp's global --pprof-port flag; the message flag is --reason)
G neighbor 2001:db8:1::1 disable --reason "lbbgp: gobgp maintenance" >"$OUT/gobgp-disable.txt" 2>&1 || true
sleep 2
cp "$LAB_DIR/cap.pcap" "$OUT/bgp.pcap"
for f in "$LAB_DIR"/*.log; do cp "$f" "$OUT/"; done
bird --version > "$OUT/versions.txt" 2>&1; /usr/lib/frr/bgpd --version | head -1 >> "$OUT/versions.txt"; gobgpd --version >> "$OUT/versions.txt" 2>&1
echo "captured into $OUT"
