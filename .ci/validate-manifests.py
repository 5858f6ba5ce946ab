#!/usr/bin/env python3
"""Validate every Providers/*.yaml against Schemas/provider.schema.json.

Usage: validate-manifests.py REPO_ROOT

Prints one line per error as `FILE: PATH: REASON` (PATH is a JSON Pointer into
the manifest, `/` for the whole document) and exits 1; otherwise prints
`N manifests valid` and exits 0.

Besides the schema it checks what a JSON Schema cannot say (documented in
docs/manifest-format.md, "Checks beyond the schema"):
  * `id` equals the file name without `.yaml`;
  * `{timestamp}` / `{id}` in `signedPayload` need `verification.timestamp` / `verification.id`;
  * YAML mapping keys are unique.
It also checks that the schema itself uses only the keyword subset the Swift
validator implements, so the two validators cannot drift apart silently.
"""

import json
import pathlib
import sys

import yaml
from jsonschema import Draft202012Validator

ALLOWED_KEYWORDS = {
    "$schema", "$id", "title", "description", "type", "properties", "required",
    "additionalProperties", "enum", "const", "items", "minItems", "minimum",
    "maximum", "pattern", "oneOf", "$ref", "$defs",
}
# Keywords whose value is a map of names to subschemas (the names are not keywords).
NAME_MAPS = {"properties", "$defs"}


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys instead of keeping the last."""


def _construct_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key] + 1})",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def pointer(path):
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else "/"


def schema_keyword_errors(node, path=()):
    """Yield (path, reason) for keywords outside the supported subset."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = path + (key,)
            if key not in ALLOWED_KEYWORDS:
                yield here, f"keyword {key!r} is not in the supported subset"
            if key in NAME_MAPS and isinstance(value, dict):
                for name, sub in value.items():
                    yield from schema_keyword_errors(sub, here + (name,))
            elif key == "additionalProperties" and value is not False:
                yield here, "only `additionalProperties: false` is supported"
            elif key == "$ref" and not str(value).startswith("#/$defs/"):
                yield here, "only $ref to #/$defs/NAME is supported"
            elif key in ("items",):
                yield from schema_keyword_errors(value, here)
            elif key == "oneOf":
                for i, sub in enumerate(value):
                    yield from schema_keyword_errors(sub, here + (i,))


def leaf_errors(error):
    """Reduce a oneOf failure to the errors of the branch the author most likely meant.

    A branch whose discriminating `const` (scheme, format, source, derive) failed is
    discarded first; among the rest the branch with the fewest errors wins. Without
    this, every oneOf mistake would read "is not valid under any of the given schemas".
    """
    if error.validator != "oneOf" or not error.context:
        return [error]
    branches = {}
    for sub in error.context:
        branches.setdefault(sub.schema_path[0], []).append(sub)

    def discriminator_failed(errs):
        return any(e.validator == "const" and len(e.relative_path) == 1 for e in errs)

    def unknown_key_only(errs):
        # "additionalProperties" on the very key that selects another branch.
        return all(e.validator in ("additionalProperties", "required") for e in errs)

    candidates = [errs for errs in branches.values() if not discriminator_failed(errs)]
    if len(candidates) > 1:
        narrowed = [errs for errs in candidates if not unknown_key_only(errs)]
        candidates = narrowed or candidates
    if len(candidates) != 1:
        if not candidates and len(branches) > 0:
            return [error]  # no branch was meant: e.g. scheme: nonsense -> report oneOf itself
        best = min(candidates, key=len)
        if sum(1 for c in candidates if len(c) == len(best)) > 1:
            return [error]
        candidates = [best]
    out = []
    for sub in candidates[0]:
        out.extend(leaf_errors(sub))
    return out


def describe(error):
    if error.validator == "oneOf":
        options = []
        for branch in error.validator_value:
            props = branch.get("properties", {}) if isinstance(branch, dict) else {}
            for key in ("scheme", "format", "source", "derive"):
                if "const" in props.get(key, {}):
                    options.append(f"{key}: {props[key]['const']}")
            if not props and isinstance(branch, dict) and "$ref" in branch:
                options.append(branch["$ref"].rsplit("/", 1)[-1])
            elif props and not any("const" in props.get(k, {}) for k in ("scheme", "format", "source", "derive")):
                options.append("{" + ", ".join(branch.get("required", [])) + "}")
        hint = f" (expected one of: {'; '.join(options)})" if options else ""
        return f"{error.instance!r} matches none of the allowed forms{hint}"
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown key(s)")
    return error.message


def semantic_errors(doc, stem):
    if not isinstance(doc, dict):
        return
    if doc.get("id") != stem:
        yield ("id",), f"id {doc.get('id')!r} must equal the file name {stem!r}"
    verification = (doc.get("webhooks") or {}).get("verification")
    if isinstance(verification, dict) and isinstance(verification.get("signedPayload"), str):
        template = verification["signedPayload"]
        if "{timestamp}" in template and "timestamp" not in verification:
            yield ("webhooks", "verification", "signedPayload"), \
                "uses {timestamp} but verification.timestamp is missing"
        if "{id}" in template and "id" not in verification:
            yield ("webhooks", "verification", "signedPayload"), \
                "uses {id} but verification.id is missing"


def main(argv):
    if len(argv) != 2:
        print("usage: validate-manifests.py REPO_ROOT", file=sys.stderr)
        return 2
    root = pathlib.Path(argv[1])
    schema_path = root / "Schemas" / "provider.schema.json"
    problems = []

    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
    except Exception as exc:  # noqa: BLE001 - any failure here is fatal and reported
        print(f"{schema_path.relative_to(root)}: /: cannot use schema: {exc}")
        return 1
    for path, reason in schema_keyword_errors(schema):
        problems.append(f"{schema_path.relative_to(root)}: {pointer(path)}: {reason}")

    validator = Draft202012Validator(schema)
    files = sorted((root / "Providers").glob("*.yaml"))
    if not files:
        problems.append("Providers/: /: no *.yaml manifests found")
    for file in files:
        rel = file.relative_to(root)
        try:
            doc = yaml.load(file.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            reason = getattr(exc, "problem", None) or str(exc)
            problems.append(f"{rel}: /: YAML error{where}: {reason}")
            continue
        found = []
        for error in validator.iter_errors(doc):
            for leaf in leaf_errors(error):
                found.append((tuple(leaf.absolute_path), describe(leaf)))
        found.extend(semantic_errors(doc, file.stem))
        for path, reason in sorted(set(found), key=lambda e: ([str(p) for p in e[0]], e[1])):
            problems.append(f"{rel}: {pointer(path)}: {reason}")

    if problems:
        for line in problems:
            print(line)
        print(f"{len(problems)} error(s) in {len(files)} manifest(s)", file=sys.stderr)
        return 1
    print(f"{len(files)} manifests valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
