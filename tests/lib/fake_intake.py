#!/usr/bin/python3
"""A stand-in for intake's (and consent's) internal HTTP port in the
gateway's tests: answers GET /v1/referrals and /v1/referrals/<id> (intake's
paths) and GET /v1/consents/<subject> (consent's) with made-up ids (no
personal data) when the request carries X-Signpost-Principal, else 401.
Like intake and consent, it names the records each answer returned in
X-Signpost-Audit-Records, except for referral UNNAMED, which it answers
without saying (the gateway must then refuse to show it).
With LOG, appends one JSON line per request it got: method, path and the
principal's claims as the gateway signed them (not verified), so a test can
tell a request the gateway forwarded from one it refused itself.
usage: fake_intake.py PORT [LOG]"""
import base64
import http.server
import json
import sys

LOG = sys.argv[2] if len(sys.argv) > 2 else None

IDS = ["01a20b30-286b-718a-b023-b4f988210c62",
       "01a20b30-286b-718a-b023-b4f988210c63"]
UNNAMED = "01a20b30-286b-718a-b023-b4f988210c64"


class H(http.server.BaseHTTPRequestHandler):
    def record(self, path):
        claims = None
        h = self.headers.get("X-Signpost-Principal")
        if h:
            part = h.split(".")[0]
            try:
                claims = json.loads(base64.urlsafe_b64decode(
                    part + "=" * (-len(part) % 4)))
            except ValueError:
                claims = "undecodable"
        with open(LOG, "a") as f:
            f.write(json.dumps({"method": self.command, "path": path,
                                "principal": claims}) + "\n")

    def do_GET(self):
        path = self.path.split("?")[0]
        if LOG:
            self.record(path)
        records = None
        if not self.headers.get("X-Signpost-Principal"):
            code, body = 401, {"error": {"code": "unauthorized"}}
        elif path == "/v1/referrals":
            code, body = 200, {"items": [{"id": i} for i in IDS]}
            records = ",".join(IDS)
        elif path.startswith("/v1/referrals/") and path[14:] in IDS:
            code, body = 200, {"id": path[14:]}
            records = path[14:]
        elif path == "/v1/referrals/" + UNNAMED:
            code, body = 200, {"id": UNNAMED}
        elif path.startswith("/v1/consents/"):
            code, body = 200, {"subject_id": path[13:],
                               "state": {"opted_out": False}}
            records = path[13:]
        else:
            code, body = 404, {"error": {"code": "not_found"}}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        if records is not None:
            self.send_header("X-Signpost-Audit-Records", records)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
