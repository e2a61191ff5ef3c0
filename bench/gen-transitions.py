#!/usr/bin/env python3
"""Synthesize recorded tcptrace-bpf JSON lines for `report` throughput tests.

  bench/gen-transitions.py N [OPEN] > log.jsonl

N transitions of loopback client/server pairs (5 transitions per socket, the exact schema
`--format json` writes), OPEN connections in flight at any time, 1 in 1000 server sockets
leaked in CLOSE_WAIT, and 1 in 500 adjacent lines written out of time order. Seeded.
"""
import random, sys

n = int(sys.argv[1]); open_target = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
rnd = random.Random(7)
T0 = 1795614010 * 10**9
client = [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"), ("ESTABLISHED", "FIN_WAIT1"), ("FIN_WAIT1", "FIN_WAIT2"), ("FIN_WAIT2", "CLOSE")]
server = [("LISTEN", "SYN_RECV"), ("SYN_RECV", "ESTABLISHED"), ("ESTABLISHED", "CLOSE_WAIT"), ("CLOSE_WAIT", "LAST_ACK"), ("LAST_ACK", "CLOSE")]

def ts(ns):
    s, f = divmod(ns, 10**9)
    d, sod = divmod(s, 86400)
    # civil from days (Hinnant)
    z = d + 719468; era = z // 146097; doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100); mp = (5 * doy + 2) // 153
    dd = doy - (153 * mp + 2) // 5 + 1; m = mp + 3 if mp < 10 else mp - 9; y = yoe + era * 400 + (m <= 2)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ" % (y, m, dd, sod // 3600, sod // 60 % 60, sod % 60, f)

out = sys.stdout; now = T0; cookie = 1; written = 0; held = None
live = []  # [cookie, path, step, lport, rport, last_ns, leak]
while written < n:
    while len(live) < open_target:
        port = 30000 + cookie % 30000
        live.append([cookie, client, 0, port, 8080, None, False])
        live.append([cookie + 1, server, 0, 8080, port, None, rnd.random() < 0.001])
        cookie += 2
    i = rnd.randrange(len(live)); c = live[i]
    old, new = c[1][c[2]]
    now += rnd.randrange(1000, 4000)
    ms = "null" if c[5] is None else "%d.%03d" % divmod((now - c[5]) // 1000, 1000)
    lport = 0 if (old, new) == ("CLOSE", "SYN_SENT") else c[3]
    rq = "1" if new in ("CLOSE", "CLOSE_WAIT") else "null"
    tcp = '{"bytes_acked":101,"bytes_received":1,"retransmits":0,"srtt_us":30}' if new == "CLOSE" else "null"
    line = ('{"type":"transition","v":1,"time":"%s","cookie":%d,"family":"ipv4","laddr":"127.0.0.1","lport":%d,'
            '"raddr":"127.0.0.1","rport":%d,"old":"%s","new":"%s","ms_in_old":%s,"pid":0,"comm":"swapper/1",'
            '"owner":{"pid":4242,"comm":"storm"},"inode":%d,"rcv_queue":%s,"tcp":%s}\n') % (
        ts(now), c[0], lport, c[4], old, new, ms, 100000 + c[0], rq, tcp)
    if held is not None:
        out.write(line); out.write(held); held = None
    elif rnd.random() < 0.002:
        held = line
    else:
        out.write(line)
    written += 1
    c[5] = now; c[2] += 1
    if c[2] == 5 or (c[6] and c[2] == 3):
        live[i] = live[-1]; live.pop()
if held: out.write(held)
