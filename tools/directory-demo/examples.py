#!/usr/bin/python3
"""The shared Open Referral UK examples as directory.commands NDJSON (one
hsds_import per record, in dependency order, all under one message key so
they reach one partition and are applied in that order), for `make run`
and tests.

usage: tools/directory-demo/examples.py [EXAMPLES_DIR]
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.normpath(os.path.join(
    HERE, "..", "..", "standards", "oruk-uk-profile", "examples"))
ORDER = [("taxonomy", "taxonomy.json"),
         ("organization", "organization_full.json"),
         ("service", "service_full.json"),
         ("service_at_location", "service_at_location_full.json")]


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    for kind, name in ORDER:
        with open(os.path.join(d, name)) as f:
            rec = json.load(f)
        print(json.dumps({"type": "signpost.directory.hsds_import.v1",
                          "key": "import-oruk-examples",
                          "data": {"kind": kind, "records": [rec]}}))


if __name__ == "__main__":
    main()
