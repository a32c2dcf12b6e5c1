"""An HTTP proxy for the store tests that breaks requests on a schedule the test sets.

    fault_proxy.py UPSTREAM_PORT [--lifetime SECONDS]

Listens on a free 127.0.0.1 port and prints {"port": N}. Each line on stdin is a JSON command,
answered by one JSON line:
    {"cmd": "faults", "faults": [{"method": "GET", "path": "part", "fault": "500", "count": 2}, ...]}
        replaces the schedule: the next `count` requests whose method and path match (path: a
        substring, optional) get `fault`; "method": "" matches any method
    {"cmd": "stats"}  how many requests came, how many faults were applied, and the most
        requests in flight at once
Faults: "500" (InternalError), "503" (SlowDown), "reset" (the connection is dropped before the
request reaches the server), "truncate" (the real response, cut halfway through its body),
"slow" (the real response head, then a stall longer than the client's timeout), "corrupt" (the
real response with its body's bytes flipped: same length, wrong content), "delay" (the real
response, half a second late: requests overlap, so the test can see how many run at once),
"shift_range" (a 206's Content-Range is rewritten to start at byte 0: not the bytes asked for).
Stops when stdin closes or after --lifetime seconds. Every client connection carries one request.
"""
import argparse
import json
import re
import socket
import socketserver
import struct
import sys
import threading
import time

MAX_HEAD = 64 << 10
lock = threading.Lock()
schedule = []
stats = {"requests": 0, "faults": 0, "max_active": 0}
active = 0


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
        if len(data) > MAX_HEAD:
            return None, b""
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def content_length(head):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def read_exactly(sock, n, have):
    while len(have) < n:
        chunk = sock.recv(min(1 << 20, n - len(have)))
        if not chunk:
            break
        have += chunk
    return have


def take_fault(method, path):
    with lock:
        stats["requests"] += 1
        for rule in schedule:
            if rule["count"] > 0 and rule.get("method", "") in ("", method) and rule.get("path", "") in path:
                rule["count"] -= 1
                stats["faults"] += 1
                return rule["fault"]
    return None


def shift_range(line):
    """Content-Range: bytes A-B/T  ->  bytes 0-(B-A)/T"""
    if not line.lower().startswith(b"content-range:"):
        return line
    first, last, total = re.match(rb".*bytes (\d+)-(\d+)/(\S+)", line).groups()
    return b"Content-Range: bytes 0-%d/%s" % (int(last) - int(first), total)


def error_response(status, code):
    body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>injected by fault_proxy</Message></Error>").encode()
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode() + body


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        global active
        with lock:
            active += 1
            stats["max_active"] = max(stats["max_active"], active)
        try:
            self.serve()
        finally:
            with lock:
                active -= 1

    def serve(self):
        client = self.request
        client.settimeout(30)
        head, rest = read_head(client)
        if head is None:
            return
        body = read_exactly(client, content_length(head), rest)
        method, path = head.split(b" ")[0].decode(), head.split(b" ")[1].decode()
        fault = take_fault(method, path)
        if fault == "reset":
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        if fault in ("500", "503"):
            client.sendall(error_response("500 Internal Server Error" if fault == "500" else "503 Slow Down",
                                          "InternalError" if fault == "500" else "SlowDown"))
            return
        if fault == "delay":
            time.sleep(0.5)
        # The real answer: one request per upstream connection, read to its end.
        lines = [l for l in head.split(b"\r\n") if not l.lower().startswith((b"expect:", b"connection:"))]
        upstream = socket.create_connection(("127.0.0.1", self.server.upstream_port), timeout=30)
        upstream.sendall(b"\r\n".join(lines + [b"Connection: close"]) + b"\r\n\r\n" + body)
        answer = b""
        while True:
            chunk = upstream.recv(1 << 20)
            if not chunk:
                break
            answer += chunk
        upstream.close()
        response_head, _, response_body = answer.partition(b"\r\n\r\n")
        kept = [l for l in response_head.split(b"\r\n") if not l.lower().startswith(b"connection:")]
        if fault == "shift_range":
            kept = [shift_range(l) for l in kept]
        response_head = b"\r\n".join(kept + [b"Connection: close"]) + b"\r\n\r\n"
        if fault == "truncate":
            client.sendall(response_head + response_body[: len(response_body) // 2])
            return
        if fault == "slow":
            client.sendall(response_head + response_body[:1])
            time.sleep(self.server.stall_seconds)
            return
        if fault == "corrupt":
            response_body = bytes(b ^ 0xFF for b in response_body)
        client.sendall(response_head + response_body)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("upstream_port", type=int)
    parser.add_argument("--lifetime", type=float, default=300.0)
    parser.add_argument("--stall", type=float, default=5.0, help="seconds a 'slow' response stalls")
    args = parser.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    server.upstream_port = args.upstream_port
    server.stall_seconds = args.stall
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.server_address[1]}), flush=True)

    def serve_commands():
        for line in sys.stdin:
            command = json.loads(line)
            with lock:
                if command["cmd"] == "faults":
                    schedule[:] = command["faults"]
                    reply = {"ok": True}
                else:
                    reply = dict(stats, pending=sum(r["count"] for r in schedule))
            print(json.dumps(reply), flush=True)

    reader = threading.Thread(target=serve_commands, daemon=True)
    reader.start()
    reader.join(timeout=args.lifetime)
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
