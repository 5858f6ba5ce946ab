#!/usr/bin/env python3
"""Validate Tributary event JSON against Schemas/event.schema.json.

Usage: check-event-json.py SCHEMA JSONFILE

JSONFILE ("-" for stdin) holds either a JSON array of events (what
`tributary events list --json` prints) or one event object (what
`tributary events show SEQ` prints). Prints one line per error as
`JSONFILE: POINTER: REASON` (POINTER is a JSON Pointer into JSONFILE, `/` for
the whole document) and exits 1; otherwise prints `N event(s) valid` and
exits 0. Exit 2 on a usage error.
"""

import json
import pathlib
import sys

from jsonschema import Draft202012Validator


def pointer(path):
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else "/"


def describe(error):
    """The error message, without dumping a whole event into it."""
    if error.validator == "oneOf" and all(
            isinstance(b, dict) and set(b) == {"required"} for b in error.validator_value):
        keys = [k for b in error.validator_value for k in b["required"]]
        present = [k for k in keys if isinstance(error.instance, dict) and k in error.instance]
        return f"needs exactly one of {', '.join(keys)} (has {', '.join(present) or 'none'})"
    if error.validator in ("oneOf", "anyOf") and isinstance(error.instance, (dict, list)):
        return f"matches {'none' if not error.context or error.validator == 'anyOf' else 'none or several'} of the allowed forms"
    return error.message


def main(argv):
    if len(argv) != 3:
        print("usage: check-event-json.py SCHEMA JSONFILE", file=sys.stderr)
        return 2
    schema_path, data_path = argv[1], argv[2]
    try:
        schema = json.loads(pathlib.Path(schema_path).read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
    except Exception as exc:  # noqa: BLE001 - any failure here is fatal and reported
        print(f"{schema_path}: /: cannot use schema: {exc}")
        return 1
    try:
        text = sys.stdin.read() if data_path == "-" else pathlib.Path(data_path).read_text(encoding="utf-8")
        document = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"{data_path}: /: not readable as JSON: {exc}")
        return 1

    if isinstance(document, list):
        events = [((i,), e) for i, e in enumerate(document)]
    elif isinstance(document, dict):
        events = [((), document)]
    else:
        print(f"{data_path}: /: expected a JSON array of events or one event object, not {type(document).__name__}")
        return 1

    # `format` is not asserted (that depends on optional packages); the schema's
    # `pattern` on timestamps is what checks RFC 3339, the same everywhere.
    validator = Draft202012Validator(schema)
    problems = []
    for prefix, event in events:
        for error in sorted(validator.iter_errors(event), key=lambda e: [str(p) for p in e.absolute_path]):
            problems.append(f"{data_path}: {pointer(prefix + tuple(error.absolute_path))}: {describe(error)}")
    if problems:
        for line in problems:
            print(line)
        print(f"{len(problems)} error(s) in {len(events)} event(s)", file=sys.stderr)
        return 1
    print(f"{len(events)} event(s) valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
