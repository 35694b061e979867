#!/usr/bin/python3
"""ORUK 3.0 conformance: fetch every endpoint of a running directory daemon
and validate each response against the Open Referral UK profile schemas in
standards/oruk-uk-profile/schema/ with a real JSON Schema
validator (python3-jsonschema). Prints TAP ("ok N - name").

usage: tests/oruk/validate.py --url http://127.0.0.1:8092 --key-file KEY
  or:  SIGNPOST_DIRECTORY_URL=... SIGNPOST_PRINCIPAL_KEY_FILE=... validate.py

The daemon must hold some data (e.g. the shared examples imported); ids
are discovered from the list endpoints.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import jsonschema

try:  # jsonschema >= 4.18
    from referencing import Registry, Resource
except ImportError:  # Debian 12's python3-jsonschema 4.10
    Registry = Resource = None

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_DIR = os.path.normpath(os.path.join(
    HERE, "..", "..", "standards", "oruk-uk-profile", "schema"))
BASE = "https://oruk.invalid/"
PAGE_KEYS = {"total_items": int, "total_pages": int, "page_number": int,
             "size": int, "first_page": bool, "last_page": bool,
             "empty": bool, "contents": list}

n = 0
failed = 0


def tap(ok, name, why=""):
    global n, failed
    n += 1
    if not ok:
        failed += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (n, name))
    if not ok and why:
        for line in str(why).splitlines()[:6]:
            print("# " + line)


def load_registry():
    resources = []
    schemas = {}
    for sub in ("", "compiled/"):
        d = os.path.join(SCHEMA_DIR, sub)
        for f in sorted(os.listdir(d)):
            if not f.endswith(".json") or f == "openapi.json":
                continue
            with open(os.path.join(d, f)) as fh:
                s = json.load(fh)
            s = dict(s, **{"$id": BASE + sub + f,
                           "$schema": "https://json-schema.org/draft/2020-12/schema"})
            schemas[sub + f] = s
            resources.append((BASE + sub + f, s))
    if Registry is None:
        return dict(resources), schemas
    return Registry().with_resources(
        [(u, Resource.from_contents(s)) for u, s in resources]), schemas


REGISTRY, SCHEMAS = load_registry()


def validate(doc, schema_name):
    schema = SCHEMAS[schema_name]
    if Registry is None:
        resolver = jsonschema.RefResolver(schema["$id"], schema,
                                          store=REGISTRY)
        v = jsonschema.Draft202012Validator(
            schema, resolver=resolver,
            format_checker=jsonschema.FormatChecker())
    else:
        v = jsonschema.Draft202012Validator(
            schema, registry=REGISTRY,
            format_checker=jsonschema.FormatChecker())
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    return "; ".join("%s: %s" % ("/".join(map(str, e.path)), e.message)
                     for e in errors[:3])


def sign(key):
    payload = json.dumps({"sub": "oruk-validator", "role": "public",
                          "exp": int(time.time()) + 600},
                         separators=(",", ":")).encode()
    text = base64.urlsafe_b64encode(payload).rstrip(b"=")
    mac = hmac.new(key, text, hashlib.sha512).digest()[:32]
    return (text + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()


def read_key(path):
    raw = open(path, "rb").read()
    if len(raw) == 32:
        return raw
    text = raw.strip()
    for dec in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            k = dec(text + b"=" * (-len(text) % 4))
            if len(k) == 32:
                return k
        except ValueError:
            pass
    sys.exit("key file does not hold 32 bytes")


class Client:
    def __init__(self, url, principal):
        self.url = url.rstrip("/")
        self.principal = principal

    def get(self, path, params=None):
        q = "?" + urllib.parse.urlencode(params) if params else ""
        req = urllib.request.Request(self.url + path + q)
        if self.principal:
            req.add_header("X-Signpost-Principal", self.principal)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), json.loads(r.read())
        except urllib.error.HTTPError as e:
            body = e.read()
            try:
                body = json.loads(body)
            except ValueError:
                pass
            return e.code, dict(e.headers), body


def check_page(c, path, item_schema, params=None):
    status, headers, body = c.get(path, params)
    name = "GET %s%s" % (path, "?" + urllib.parse.urlencode(params)
                         if params else "")
    if status != 200:
        tap(False, name, "status %d %s" % (status, body))
        return []
    why = []
    for k, t in PAGE_KEYS.items():
        if not isinstance(body.get(k), t) or (t is int and
                                               isinstance(body.get(k), bool)):
            why.append("page field %s missing or not %s" % (k, t.__name__))
    if headers.get("Access-Control-Allow-Origin") != "*":
        why.append("no Access-Control-Allow-Origin: *")
    for i, item in enumerate(body.get("contents", [])):
        err = validate(item, item_schema)
        if err:
            why.append("contents[%d] %s" % (i, err))
    if body.get("size") != len(body.get("contents", [])):
        why.append("size does not match contents")
    tap(not why, name + " (page of " + item_schema + ")", "\n".join(why))
    return body.get("contents", [])


def check_one(c, path, schema):
    status, headers, body = c.get(path)
    if status != 200:
        tap(False, "GET " + path, "status %d %s" % (status, body))
        return None
    err = validate(body, schema)
    if headers.get("Access-Control-Allow-Origin") != "*":
        err = (err + "; " if err else "") + "no CORS header"
    tap(not err, "GET %s (%s)" % (path, schema), err)
    return body


def check_400(c, path, params, field):
    status, _, body = c.get(path, params)
    got = body.get("error", {}).get("field") if isinstance(body, dict) else None
    tap(status == 400 and got == field,
        "GET %s with bad %s -> 400 naming it" % (path, field),
        "status %d body %s" % (status, body))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default=os.environ.get("SIGNPOST_DIRECTORY_URL",
                                                    "http://127.0.0.1:8092"))
    ap.add_argument("--key-file",
                    default=os.environ.get("SIGNPOST_PRINCIPAL_KEY_FILE"))
    a = ap.parse_args()
    if not a.key_file:
        print("1..1\nnot ok 1 - no principal key file given")
        return 1
    c = Client(a.url, sign(read_key(a.key_file)))

    status, headers, root = c.get("/")
    tap(status == 200 and root.get("version") == "3.0" and
        isinstance(root.get("profile"), str) and
        isinstance(root.get("openapi_url"), str), "GET / (version 3.0)",
        root)
    svcs = check_page(c, "/services", "compiled/service_list.json",
                      {"per_page": 100})
    check_page(c, "/services", "compiled/service_list.json",
               {"search": "counselling", "per_page": 5})
    for s in svcs[:5]:
        check_one(c, "/services/" + s["id"], "compiled/service.json")
    sals = check_page(c, "/service_at_locations",
                      "compiled/service_at_location_list.json")
    for s in sals[:5]:
        check_one(c, "/service_at_locations/" + s["id"],
                  "compiled/service_at_location.json")
    orgs = check_page(c, "/organizations", "compiled/organization_list.json")
    for o in orgs[:5]:
        check_one(c, "/organizations/" + o["id"], "compiled/organization.json")
    taxes = check_page(c, "/taxonomies", "taxonomy.json")
    for t in taxes[:5]:
        check_one(c, "/taxonomies/" + t["id"], "taxonomy.json")
    terms = check_page(c, "/taxonomy_terms", "taxonomy_term.json")
    check_page(c, "/taxonomy_terms", "taxonomy_term.json", {"top_only": "true"})
    for t in terms[:5]:
        check_one(c, "/taxonomy_terms/" + t["id"], "taxonomy_term.json")
    tap(len(svcs) > 0 and len(sals) > 0 and len(orgs) > 0 and
        len(taxes) > 0 and len(terms) > 0, "every list endpoint has data")

    check_400(c, "/services", {"per_page": "101"}, "per_page")
    check_400(c, "/services", {"taxonomy_id": "not-a-uuid"}, "taxonomy_id")
    check_400(c, "/services",
              {"taxonomy_id": "00000000-0000-4000-8000-000000000000"},
              "taxonomy_id")
    check_400(c, "/service_at_locations", {"postcode": "NOT A PC"},
              "postcode")
    check_400(c, "/services", {"search": "x" * 201}, "search")
    check_400(c, "/services", {"search": b"caf\xc3("}, "search")
    status, _, _ = Client(a.url, None).get("/services")
    tap(status == 401, "GET /services without principal -> 401",
        "status %d" % status)
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
