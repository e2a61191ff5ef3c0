#!/usr/bin/env python3
"""Scrape latency of a metrics endpoint while other local clients hold connections open.

    bench/metrics-flood.py --port P [--idle N] [--trickle M] [--scrapes K] [--interval S]

N clients connect and send nothing; M send a request head one byte every 200 ms and never end
it (slowloris). Each is reopened as soon as the server drops it (an attacker that keeps
trying). After a second, K scrapes (GET /metrics, one connection each, 5 s timeout), S seconds
apart: prints how many got 200, 503 or nothing, and the latency of the answered ones (connect to
last byte). 127.0.0.1 only.
"""
import argparse
import select
import socket
import statistics
import threading
import time


def attackers(port, idle, trickle, stop, counters):
    socks = []

    def open_one(trickles):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.setblocking(False)
            if trickles:
                s.send(b"GET /me")
            return (s, trickles)
        except OSError:
            return None

    for i in range(idle + trickle):
        one = open_one(i >= idle)
        if one:
            socks.append(one)
    tick = 0
    while not stop.is_set():
        time.sleep(0.05)
        tick += 1
        readable, _, _ = select.select([s for s, _ in socks], [], [], 0)
        dropped = set(readable)
        for i, (s, trickles) in enumerate(socks):
            if s in dropped:
                s.close()
                counters["reconnects"] += 1
                one = open_one(trickles)
                if one:
                    socks[i] = one
            elif trickles and tick % 4 == 0:
                try:
                    s.send(b"x")
                except OSError:
                    pass
    for s, _ in socks:
        s.close()


def scrape(port):
    start = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.settimeout(5)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
    except OSError:
        return None, time.monotonic() - start
    return data.split(b"\r\n", 1)[0].decode(errors="replace"), time.monotonic() - start


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--idle", type=int, default=200)
    p.add_argument("--trickle", type=int, default=200)
    p.add_argument("--scrapes", type=int, default=30)
    p.add_argument("--interval", type=float, default=0.5)
    a = p.parse_args()
    stop, counters = threading.Event(), {"reconnects": 0}
    t = threading.Thread(target=attackers, args=(a.port, a.idle, a.trickle, stop, counters))
    t.start()
    time.sleep(1)
    results = []
    for _ in range(a.scrapes):
        results.append(scrape(a.port))
        time.sleep(a.interval)
    stop.set()
    t.join()
    ok = [d for status, d in results if status and status.startswith("HTTP/1.1 200")]
    busy = sum(1 for status, _ in results if status and status.startswith("HTTP/1.1 503"))
    none = sum(1 for status, _ in results if not status)
    line = f"idle {a.idle}, trickling {a.trickle}: {len(ok)}/{len(results)} scrapes answered 200, {busy} got 503, {none} nothing"
    if ok:
        ms = sorted(d * 1000 for d in ok)
        line += f"; latency of the answered: median {statistics.median(ms):.1f} ms, p90 {ms[max(0, -(-len(ms) * 9 // 10) - 1)]:.1f} ms, max {ms[-1]:.1f} ms"
    print(line + f"; attackers reconnected {counters['reconnects']} times")


if __name__ == "__main__":
    main()
