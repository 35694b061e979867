#!/usr/bin/python3
"""An upstream that holds every answer until a release file exists: for
the test that a forwarded read waiting on its upstream does not hold one
of the gateway's HTTP threads. Answers a fixed ORUK-style page (no
personal data). A request whose path mentions "never" is held the full
60 s whatever the release file says, for the gateway's upstream timeout.
usage: held_upstream.py PORT RELEASE_FILE"""
import http.server
import json
import os
import socketserver
import sys
import time


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        for _ in range(600):  # at most 60 s
            if os.path.exists(sys.argv[2]) and "never" not in self.path:
                break
            time.sleep(0.1)
        data = json.dumps({"total_items": 0, "contents": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
