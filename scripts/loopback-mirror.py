#!/usr/bin/env python3
"""A static mirror on loopback for the comparison scripts: serves DIR on 127.0.0.1:PORT,
answers If-Modified-Since with 304 (as real mirrors do), optionally throttles every body to
RATE bytes per second (a slow link), and counts requests per path (GET /__counts__ returns
them as JSON; GET /__reset__ clears them).

    loopback-mirror.py DIR PORT [--rate BYTES_PER_SECOND] [--missing PATH ...]

--missing makes PATH (relative to DIR) answer 404 even when it exists: a mirror that does
not carry one compression of an index.
"""
import argparse
import collections
import functools
import http.server
import json
import os
import socketserver
import threading
import time

COUNTS = collections.Counter()
LOCK = threading.Lock()


class Handler(http.server.SimpleHTTPRequestHandler):
    rate = 0
    missing = set()

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/__counts__":
            with LOCK:
                body = json.dumps(dict(COUNTS)).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path == "/__reset__":
            with LOCK:
                COUNTS.clear()
            self.send_response(204)
            self.end_headers()
            return
        with LOCK:
            COUNTS[path] += 1
        if path.lstrip("/") in self.missing:
            self.send_error(404)
            return
        super().do_GET()

    def copyfile(self, source, outputfile):
        if not self.rate:
            return super().copyfile(source, outputfile)
        chunk = 64 * 1024
        start = time.monotonic()
        sent = 0
        while True:
            buf = source.read(chunk)
            if not buf:
                break
            outputfile.write(buf)
            sent += len(buf)
            ahead = sent / self.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("port", type=int)
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--missing", nargs="*", default=[])
    a = ap.parse_args()
    Handler.rate = a.rate
    Handler.missing = set(m.lstrip("/") for m in a.missing)
    handler = functools.partial(Handler, directory=os.path.abspath(a.dir))
    with Server(("127.0.0.1", a.port), handler) as srv:
        srv.serve_forever()


if __name__ == "__main__":
    main()
