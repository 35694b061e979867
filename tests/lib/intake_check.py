#!/usr/bin/python3
"""Checks for the intake end-to-end scripts.

  intake_check.py match SUBMITTED.jsonl PARTNER.jsonl
      every submitted referral arrived exactly as submitted: person,
      referrer, notes, and only the special-category fields shared
  intake_check.py canaries SUBMITTED.jsonl FILE...
      none of the personal values (nor their normalised forms) occurs in
      any FILE; prints the number of hits per file, never the values
  intake_check.py field FILE PATH
      prints a field of a JSON file (PATH like a.b.0.c)
Exit status 0 when the check holds.
"""
import json
import re
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def match(submitted, partner):
    sent = {r["referral_id"]: r for r in load(submitted)}
    got = {}
    for line in load(partner):
        got.setdefault(line["referral_id"], line)
    bad = 0
    for rid, s in sent.items():
        g = got.get(rid)
        if g is None:
            bad += 1
            continue
        p, r = s["payload"], g["referral"]
        shared = {k: p["special_category"][k]
                  for k in p.get("share_special_category", [])
                  if k in p.get("special_category", {})}
        ok = (r.get("person") == p.get("person")
              and r.get("referrer") == p.get("referrer")
              and r.get("notes") == p.get("notes")
              and r.get("special_category") == shared
              and r.get("reference") == s["reference"]
              and r.get("kind") == s["kind"])
        bad += 0 if ok else 1
    print("# referrals submitted=%d received=%d mismatched_or_missing=%d"
          % (len(sent), len(got), bad))
    return bad == 0 and len(got) == len(sent)


def leaves(v, out):
    if isinstance(v, dict):
        for x in v.values():
            leaves(x, out)
    elif isinstance(v, list):
        for x in v:
            leaves(x, out)
    elif isinstance(v, str):
        out.add(v)


def needles(submitted):
    out = set()
    for s in load(submitted):
        p = s["payload"]
        vals = set()
        for k in ("person", "referrer", "special_category", "notes"):
            if k in p:
                leaves(p[k], vals)
        for v in vals:
            out.add(v.lower())
            digits = re.sub(r"[^0-9]", "", v)
            if len(digits) >= 10 and re.fullmatch(r"[0-9 +()-]+", v):
                out.add(digits)  # normalised phone
            if re.fullmatch(r"[A-Za-z]{1,2}[0-9][0-9A-Za-z]? ?[0-9][A-Za-z]{2}",
                            v):
                out.add(v.replace(" ", "").lower())  # normalised postcode
    return out


def canaries(submitted, files):
    ns = needles(submitted)
    total = 0
    for path in files:
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace").lower()
        except OSError:
            continue
        hits = sum(1 for n in ns if n in text)
        total += hits
        if hits:
            print("# %s: %d canary values in plaintext" % (path, hits))
    print("# %d canary values scanned in %d files: %d hits"
          % (len(ns), len(files), total))
    return total == 0 and len(ns) > 0


def field(path, dotted):
    with open(path) as f:
        v = json.load(f)
    for part in dotted.split("."):
        v = v[int(part)] if isinstance(v, list) else v.get(part)
    print(v if not isinstance(v, (dict, list)) else json.dumps(v))
    return True


def main():
    cmd = sys.argv[1]
    if cmd == "match":
        return 0 if match(sys.argv[2], sys.argv[3]) else 1
    if cmd == "canaries":
        return 0 if canaries(sys.argv[2], sys.argv[3:]) else 1
    if cmd == "field":
        return 0 if field(sys.argv[2], sys.argv[3]) else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
