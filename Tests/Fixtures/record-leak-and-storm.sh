#!/usr/bin/env bash
# Records Tests/Fixtures/leak-and-storm.jsonl (root, under the kernel lock): the real tracer
# watching a server that leaks three connections into CLOSE_WAIT and a storm of 40 short
# connections, with a census every second. The HTML report and golden output tests read it;
# their expectations (process names, pids, ports) come from this recording.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${BIN:-.build/debug/tcptrace-bpf}
out=Tests/Fixtures/leak-and-storm.jsonl
leak=21010 storm=21011

"$bin" --format json --output "$out.tmp" --port "$leak,$storm" --close-wait-threshold 1s --census-interval 1s --netns host 2>/dev/null &
tracer=$!
sleep 3  # loaded and attached
python3 - "$leak" "$storm" <<'PY'
import socket, sys, threading, time
leak, storm = int(sys.argv[1]), int(sys.argv[2])
# The leak: a server that never closes what it accepts.
held = []
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", leak)); srv.listen(16)
for _ in range(3):
    c = socket.create_connection(("127.0.0.1", leak)); c.sendall(b"x" * 5)
    s, _ = srv.accept(); held.append(s); c.close(); time.sleep(0.2)
# The storm: a server that reads each connection to EOF and closes it.
lst = socket.socket(); lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind(("127.0.0.1", storm)); lst.listen(256)
def serve():
    for _ in range(40):
        s, _ = lst.accept()
        while s.recv(65536): pass
        s.close()
t = threading.Thread(target=serve); t.start()
for _ in range(40):
    c = socket.create_connection(("127.0.0.1", storm)); c.sendall(b"y" * 16); c.close()
t.join(); lst.close()
time.sleep(3.5)  # the lingerers cross the 1 s threshold; a census after them
PY
sleep 0.5  # python3 has exited: its lingerers are closed
kill -TERM "$tracer"
wait "$tracer"
mv "$out.tmp" "$out"
echo "recorded $out: $(wc -l < "$out") lines"
