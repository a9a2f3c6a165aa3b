#!/usr/bin/python3
"""HTTP receiver for webhook calls (Slack-style POSTs) in the integration
tests; Python's standard library only.

    webhook.py PORT DATADIR

Listens on 127.0.0.1:PORT (0: a free port of its choosing) and prints
"ready 127.0.0.1:PORT" once it does. Each request, whatever its method, is
written to DATADIR/NNNNNN.json (000001 first) before it is answered:
  {"method", "path" (with the query), "headers" (lower-case name: value),
   "body" (text)}.
The answer is 200 "ok", as Slack answers. DATADIR/reply.json, read at each
request, changes that: an object {"status", "body", "delay_ms", "headers"}
(each optional) applies to every request; a list applies its first object to
the next request and loses it, then the rest in turn, then the default.
SIGTERM stops it with exit code 0, even while a delayed answer waits.
"""
import http.server
import json
import os
import signal
import sys
import threading
import time


def write_json(path, obj):
    """Whole files only: readers never see one half written."""
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)
    os.replace(path + ".tmp", path)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real webhook endpoints
    lock = threading.Lock()
    count = 0
    dir = "."

    def log_message(self, format, *args):
        sys.stderr.write("webhook: %s\n" % (format % args))

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                chunk = self.rfile.read(size + 2)  # data and its CRLF
                if size == 0:
                    return body
                body += chunk[:-2]
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def next_reply(self):
        """Called with the lock held."""
        path = os.path.join(self.dir, "reply.json")
        try:
            with open(path, encoding="utf-8") as f:
                reply = json.load(f)
        except FileNotFoundError:
            return {}
        if isinstance(reply, list):
            if not reply:
                return {}
            write_json(path, reply[1:])
            return reply[0]
        return reply

    def handle_any(self):
        body = self.read_body()
        with Handler.lock:
            Handler.count += 1
            write_json(os.path.join(self.dir, "%06d.json" % Handler.count), {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            })
            reply = self.next_reply()
        time.sleep(reply.get("delay_ms", 0) / 1000.0)
        out = reply.get("body", "ok").encode()
        self.send_response(reply.get("status", 200))
        for name, value in reply.get("headers", {"Content-Type": "text/plain"}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: webhook.py PORT DATADIR")
    Handler.dir = sys.argv[2]
    os.makedirs(Handler.dir, exist_ok=True)
    Handler.count = len([n for n in os.listdir(Handler.dir) if n[:1].isdigit()])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True  # a delayed answer does not hold the exit up

    def stop(signum, frame):
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready 127.0.0.1:%d" % server.server_address[1], flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
