#!/usr/bin/env python3
"""Splits the BGP messages out of a pcap written by capture.sh (Ethernet, IPv4/IPv6, TCP).

Reassembles each TCP direction by sequence number, cuts it into BGP messages by the header's
length field and prints one line per message: source > destination, type, hex. Standard library only.
"""
import struct, sys

def packets(path):
    with open(path, 'rb') as f:
        data = f.read()
    magic = struct.unpack('<I', data[:4])[0]
    endian = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + 'IIII', data[off:off + 16])
        yield data[off + 16: off + 16 + caplen]
        off += 16 + caplen

def tcp_segments(path):
    for frame in packets(path):
        eth_type = struct.unpack('>H', frame[12:14])[0]
        ip = frame[14:]
        if eth_type == 0x0800:
            ihl = (ip[0] & 15) * 4
            src, dst = '.'.join(map(str, ip[12:16])), '.'.join(map(str, ip[16:20]))
            tcp = ip[ihl:struct.unpack('>H', ip[2:4])[0]]
        elif eth_type == 0x86dd:
            import ipaddress
            src, dst = str(ipaddress.IPv6Address(ip[8:24])), str(ipaddress.IPv6Address(ip[24:40]))
            tcp = ip[40:40 + struct.unpack('>H', ip[4:6])[0]]
        else:
            continue
        sport, dport, seq = struct.unpack('>HHI', tcp[:8])
        doff = (tcp[12] >> 4) * 4
        payload = tcp[doff:]
        if payload:
            yield (f'{src}:{sport}', f'{dst}:{dport}'), seq, payload

streams = {}
for key, seq, payload in tcp_segments(sys.argv[1]):
    streams.setdefault(key, {})
    streams[key].setdefault(seq, payload)
names = {1: 'OPEN', 2: 'UPDATE', 3: 'NOTIFICATION', 4: 'KEEPALIVE', 5: 'ROUTE-REFRESH'}
for (src, dst), segs in streams.items():
    buf = b''
    expect = None
    for seq in sorted(segs):
        if expect is not None and seq < expect:
            continue
        buf += segs[seq]
        expect = seq + len(segs[seq])
    while len(buf) >= 19:
        n = struct.unpack('>H', buf[16:18])[0]
        if n < 19 or len(buf) < n:
            break
        print(src, '>', dst, names.get(buf[18], buf[18]), n, buf[:n].hex())
        buf = buf[n:]
