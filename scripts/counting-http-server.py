#!/usr/bin/env python3
"""A loopback "upstream mirror" for the fleet scripts: serves ROOT, appends one line per
request ("GET /path") to LOG so a script can count upstream requests, and writes the port it
bound (127.0.0.1, a free port) to PORT_FILE.

    python3 scripts/counting-http-server.py ROOT PORT_FILE LOG
"""
import functools
import http.server
import os
import sys
import threading

root, port_file, log_path = sys.argv[1:4]
lock = threading.Lock()


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_request(self, code="-", size="-"):
        with lock, open(log_path, "a") as f:
            f.write(f"{self.command} {self.path} {code}\n")

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(
    ("127.0.0.1", 0), functools.partial(Handler, directory=root)
)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
