#!/usr/bin/python3
"""The message schemas against their cases, then every message the test run
produced against its schema.

1. Cases (proto/cases/<ce_type>/, as jansson's test suite keeps its valid
   and invalid inputs): every valid/*.json must match proto/schemas/
   <ce_type>.json and every invalid/*.json must not. Every schema has at
   least one valid case and, unless its values are raw bytes, one invalid
   case; every case folder has a schema.
2. Records: dumps every topic of the run's broker with build/bin/topic-dump
   and validates every record against proto/schemas/<ce_type>.json with a
   real JSON Schema validator, formats (uuid, date-time, date) included.
   Dead-letter topics are validated too (a dead letter keeps the original's
   ce_* headers and value), and each must carry dlq_reason: a record a
   producer made wrong fails here even when its consumer dead-lettered it.
   A record without ce_type, or of a type without a schema, fails.

The only records not validated are bad input a test planted on purpose,
marked with ce_source /signpost/test/bad-input (intake-load --bad); each of
those must have been dead-lettered.

  zz_message_schemas.py           both (runs last: tests/run.sh takes
                                  tests/scripts in name order)
  zz_message_schemas.py --cases   the cases only (no broker needed)

Prints TAP.
"""
import glob
import json
import os
import subprocess
import sys

import jsonschema

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCHEMAS = os.path.join(ROOT, "proto", "schemas")
CASES = os.path.join(ROOT, "proto", "cases")
PLANTED = "/signpost/test/bad-input"
RAW = "application/octet-stream"


class Tap:
    def __init__(self):
        self.n = 0

    def __call__(self, ok, name, why=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", self.n, name))
        if not ok and why:
            for line in why if isinstance(why, list) else [why]:
                print("# " + line)
        return ok


def load_schemas():
    """{ce_type: validator}; a schema that is not valid JSON Schema raises"""
    out = {}
    for path in sorted(glob.glob(os.path.join(SCHEMAS, "*.json"))):
        with open(path) as f:
            schema = json.load(f)
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        out[os.path.basename(path)[:-5]] = cls(
            schema, format_checker=cls.FORMAT_CHECKER)
    return out


def raw(v):
    return v.schema.get("contentMediaType") == RAW


def first_error(v, value):
    """the first reason value does not match v, or None"""
    for ex in v.iter_errors(value):
        return "%s (at %s)" % (ex.message, "/".join(map(str, ex.path)) or
                               "the top")
    return None


def check_cases(tap, validators):
    types = sorted(validators)
    folders = sorted(d for d in os.listdir(CASES)
                     if os.path.isdir(os.path.join(CASES, d)))
    stray = [d for d in folders if d not in validators]
    tap(not stray, "every folder of proto/cases has a schema", stray)
    for t in types:
        v = validators[t]
        wrong = []
        good = sorted(glob.glob(os.path.join(CASES, t, "valid", "*.json")))
        bad = sorted(glob.glob(os.path.join(CASES, t, "invalid", "*.json")))
        if not good:
            wrong.append("no valid case in proto/cases/%s/valid/" % t)
        if not bad and not raw(v):
            wrong.append("no invalid case in proto/cases/%s/invalid/" % t)
        for path in good + bad:
            name = os.path.relpath(path, CASES)
            with open(path) as f:
                try:
                    value = json.load(f)
                except ValueError as ex:
                    wrong.append("%s: not JSON: %s" % (name, ex))
                    continue
            why = None if raw(v) else first_error(v, value)
            if path in good and why is not None:
                wrong.append("%s should match: %s" % (name, why))
            elif path in bad and why is None:
                wrong.append("%s should not match, and does" % name)
        tap(not wrong, "%s: %d valid cases match, %d invalid do not" %
            (t, len(good), len(bad)), wrong)


def check_records(tap, validators):
    build = os.environ.get("SIGNPOST_TEST_BUILD", "build")
    boot = os.environ.get("SIGNPOST_TEST_KAFKA")
    if not tap(bool(boot), "SIGNPOST_TEST_KAFKA is set"):
        return
    out = subprocess.run([os.path.join(ROOT, build, "bin", "topic-dump"),
                          boot], capture_output=True, text=True, timeout=600)
    tap(out.returncode == 0, "topic-dump read every topic to its end")
    recs = [json.loads(line) for line in out.stdout.splitlines()]
    dead = {r["headers"].get("ce_id") for r in recs
            if r["topic"].endswith(".dlq")}
    by_type, failures, no_reason, untyped = {}, {}, [], []
    planted, planted_live = 0, []
    for rec in recs:
        h = rec["headers"]
        where = "%s[%d]@%d" % (rec["topic"], rec["partition"], rec["offset"])
        is_dlq = rec["topic"].endswith(".dlq")
        if is_dlq and "dlq_reason" not in h:
            no_reason.append(where)
        if h.get("ce_source") == PLANTED:
            planted += 1
            if not is_dlq and h.get("ce_id") not in dead:
                planted_live.append(where)
            continue
        t = h.get("ce_type")
        if not isinstance(t, str):
            untyped.append(where)
            continue
        by_type[t] = by_type.get(t, 0) + 1
        v = validators.get(t)
        if v is None:
            failures.setdefault(t, "no schema in proto/schemas/%s.json" % t)
            continue
        if raw(v):
            continue  # a raw-bytes type: any value is its own
        value = rec["value"]
        if value is not None and not isinstance(value, str):
            failures.setdefault(t, "%s: value is not UTF-8 text" % where)
            continue
        try:
            # a null value is a tombstone, checked as null: only a schema
            # that allows it (a deleted type, consent.state) accepts it
            why = first_error(v, None if value is None else json.loads(value))
        except ValueError as ex:
            why = "not JSON: %s" % ex
        if why is not None:
            failures.setdefault(t, "%s: %s" % (where, why))
    total = sum(by_type.values())
    tap(total > 0, "the run produced typed messages (%d)" % total)
    tap(not untyped, "every record carries ce_type", untyped[:5])
    for t in sorted(by_type):
        tap(t not in failures, "%d x %s match the schema" % (by_type[t], t),
            failures.get(t))
    tap(not no_reason, "every dead letter carries dlq_reason", no_reason[:5])
    tap(not planted_live, "each of the %d records planted as bad input "
        "(ce_source %s) was dead-lettered" % (planted, PLANTED),
        planted_live[:5])


def main():
    tap = Tap()
    validators = load_schemas()
    tap(len(validators) > 0, "proto/schemas holds %d valid JSON Schemas" %
        len(validators))
    check_cases(tap, validators)
    if "--cases" not in sys.argv[1:]:
        check_records(tap, validators)
    return 0


if __name__ == "__main__":
    sys.exit(main())
