#!/usr/bin/env python3
"""Seeds fuzz/corpus/bgp_* from the captured fixtures (lb-bgp/tests/fixtures/captured.rs, written by fixtures.py).

Run once from the workspace root: python3 lb-bgp/lab/seed_corpus.py
The first octet of update/framing/roundtrip inputs is the context (see lb_bgp::fuzzing::context):
1 = 4-octet AS, +4 = ADD-PATH IPv4 unicast (negotiated on the BIRD-FRR IPv4 session).
"""
import os, re

src = open('lb-bgp/tests/fixtures/captured.rs').read()
root = 'fuzz/corpus'
n = 0
for block in src.split('Session {')[1:]:
    found = re.search(r'name: "([^"]*)"', block)
    if not found:
        continue
    name = found.group(1)
    ctx = 5 if '192.0.2.11' in name else 1
    for h in re.findall(r'\(\s*"[^"]*",\s*"([0-9a-f]+)",?\s*\)', block):
        m = bytes.fromhex(h)
        kind, body = m[18], m[19:]
        files = {'bgp_framing': bytes([ctx, 7]) + m, 'bgp_roundtrip': bytes([ctx, kind]) + body}
        files[{1: 'bgp_open', 2: 'bgp_update', 3: 'bgp_notification', 4: None, 5: 'bgp_route_refresh'}[kind] or 'bgp_framing'] = \
            (bytes([ctx]) + body) if kind == 2 else (body if kind != 4 else bytes([ctx, 19]) + m)
        for target, data in files.items():
            os.makedirs(f'{root}/{target}', exist_ok=True)
            with open(f'{root}/{target}/captured-{n:03}-{target}.bin', 'wb') as f:
                f.write(data)
        n += 1
print(n, 'messages')
