#!/usr/bin/python3
"""Every message the test run produced, validated against its schema.

Runs last (the runner takes tests/scripts in name order). Dumps every topic
of the run's broker with build/bin/topic-dump and validates each record
that carries a ce_type against proto/schemas/<ce_type>.json with a real
JSON Schema validator. A type without a schema fails. Dead-letter topics
are checked for their dlq_reason header instead (their payloads are broken
on purpose). Prints TAP.
"""
import json
import os
import subprocess
import sys

import jsonschema

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCHEMAS = os.path.join(ROOT, "proto", "schemas")


def main():
    build = os.environ.get("SIGNPOST_TEST_BUILD", "build")
    boot = os.environ.get("SIGNPOST_TEST_KAFKA")
    n = 0

    def tap(ok, name):
        nonlocal n
        n += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", n, name))
        return ok

    if not boot:
        tap(False, "SIGNPOST_TEST_KAFKA is set")
        return 1
    out = subprocess.run([os.path.join(ROOT, build, "bin", "topic-dump"),
                          boot], capture_output=True, text=True, timeout=600)
    tap(out.returncode == 0, "topic-dump read every topic to its end")
    by_type, failures, dlq_missing, untyped, rejected = {}, {}, 0, 0, 0
    validators = {}
    recs = [json.loads(line) for line in out.stdout.splitlines()]
    # Messages the platform dead-lettered were refused on purpose (tests
    # send malformed ones to prove it): they are checked for their reason,
    # not against the schema.
    dead = {r["headers"].get("ce_id") for r in recs
            if r["topic"].endswith(".dlq")}
    for rec in recs:
        if rec["topic"].endswith(".dlq"):
            dlq_missing += "dlq_reason" not in rec["headers"]
            continue
        if rec["headers"].get("ce_id") in dead:
            rejected += 1
            continue
        t = rec["headers"].get("ce_type")
        if not isinstance(t, str):
            untyped += 1  # junk a DLQ test sent on purpose
            continue
        by_type[t] = by_type.get(t, 0) + 1
        if t not in validators:
            path = os.path.join(SCHEMAS, t + ".json")
            if not os.path.exists(path):
                validators[t] = None
            else:
                with open(path) as f:
                    schema = json.load(f)
                cls = jsonschema.validators.validator_for(schema)
                cls.check_schema(schema)
                validators[t] = cls(schema)
        v = validators[t]
        if v is None:
            failures.setdefault(t, "no schema in proto/schemas/%s.json" % t)
            continue
        if rec["value"] is None:
            continue  # tombstone
        if v.schema.get("type") == "null":
            # a tombstone type (signpost.<entity>.deleted.v1): a deletion
            # is a null value, never an empty one or a body
            failures.setdefault(t, "%s[%d]@%d: a tombstone type with a "
                                "value (a deletion has a null value)" % (
                                    rec["topic"], rec["partition"],
                                    rec["offset"]))
            continue
        if v.schema.get("contentMediaType") == "application/octet-stream":
            continue  # a raw-bytes type: any value is its own
        try:
            if not isinstance(rec["value"], str):
                raise ValueError("value is not UTF-8 text")
            v.validate(json.loads(rec["value"]))
        except (ValueError, jsonschema.ValidationError) as ex:
            failures.setdefault(t, "%s[%d]@%d: %s" % (
                rec["topic"], rec["partition"], rec["offset"],
                str(ex).splitlines()[0]))
    tap(sum(by_type.values()) > 0, "the run produced typed messages (%d)" %
        sum(by_type.values()))
    for t in sorted(by_type):
        if tap(t not in failures, "%d x %s match the schema" %
               (by_type[t], t)) is False:
            print("# " + failures[t])
    tap(dlq_missing == 0, "every dead letter carries dlq_reason")
    print("# %d records without ce_type skipped (deliberate junk)" % untyped)
    print("# %d records dead-lettered by their consumer, not validated" %
          rejected)
    return 0


if __name__ == "__main__":
    sys.exit(main())
