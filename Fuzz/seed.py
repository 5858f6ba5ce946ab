#!/usr/bin/env python3
"""Writes the seed inputs of one fuzz target into a corpus directory, from the repository's fixtures.

    Fuzz/seed.py TARGET DIR

Seeds are named by content hash, so seeding a corpus that already holds them changes nothing.
"""
import base64
import glob
import hashlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Sources/TributaryTesting/Fixtures")


def frame(method, url, headers, body, secrets=()):
    """A delivery in the framing of Fuzz/Sources/FuzzSupport/FuzzRequest.swift."""
    head = [f"{method} {url}"] + [f"{k}: {v}" for k, v in headers.items()] + [f"X-Fuzz-Secret: {s}" for s in secrets]
    return ("\n".join(head) + "\n\n").encode() + (body.encode() if isinstance(body, str) else body)


def vectors():
    for path in sorted(glob.glob(os.path.join(FIXTURES, "vectors/*.json"))):
        with open(path) as f:
            yield json.load(f)


def files(pattern):
    for path in sorted(glob.glob(os.path.join(FIXTURES, pattern), recursive=True)):
        with open(path, "rb") as f:
            yield f.read()


def api_pages():
    for path in sorted(glob.glob(os.path.join(FIXTURES, "api/*/*.json"))):
        with open(path) as f:
            yield json.load(f)


def seeds(target):
    if target == "json":
        yield from files("payloads/**/*.json")
        for page in api_pages():
            yield json.dumps(page["body"], separators=(",", ":")).encode()
        yield from (b"[1e999,-0,0.5e-3]", b'{"a":"\\ud83d\\ude00\\u0000"}', b'"\\/\\b"', b"[[[[[]]]]]")
    elif target == "verify":
        for v in vectors():
            yield frame(v["method"], v["url"], v["headers"], v["body"], [v["secret"]])
            rotated = v.get("rotated")
            if rotated:
                yield frame(v["method"], v["url"], rotated["headers"], v["body"], [v["secret"], rotated["secret"]])
            for h in v.get("handshakes") or []:
                yield frame(h["method"], h["url"], h.get("headers") or {}, h.get("body") or "", [v["secret"]])
    elif target == "form":
        yield from files("payloads/**/*.txt")
        for v in vectors():
            if "form" in v["headers"].get("Content-Type", ""):
                yield v["body"].encode()
        yield from (b"a=1&b=%zz&c=%E2%82%AC&d+e=f+g&=&&x", b"challenge=abc%20def&validationToken=t%2Bk")
    elif target == "manifest":
        for path in sorted(glob.glob(os.path.join(ROOT, "Providers/*.yaml"))):
            with open(path, "rb") as f:
                yield f.read()
    elif target == "page":
        for page in api_pages():
            body = page["body"]
            yield frame("GET", "https://api.example.test/", page.get("headers") or {}, json.dumps(body, separators=(",", ":")) if body is not None else "")
    elif target == "cursor":
        cursors = [
            {},
            {"watermark": 1795000000000000, "afterId": "42"},
            {"syncToken": "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=abc"},
            {"lastEventId": "evt_1", "etag": 'W/"abc"'},
            {"watermark": 1795000000000000, "run": {"startedAt": 1795000000000000, "horizon": 1794999990000000, "since": 1794999000000000,
                                                   "pageToken": "p2", "maxSeen": 1794999500000000, "maxSeenId": "7", "pages": 3, "windowPages": 2}},
        ]
        for c in cursors:
            yield json.dumps(c).encode()
        for key in (["c1", "customer", "cus_1"], ["conn", "issue", "a,b/c é"]):
            text = base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).rstrip(b"=")
            yield text
    else:
        sys.exit(f"seed.py: unknown target {target}")


def main():
    target, directory = sys.argv[1], sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    count = 0
    for seed in seeds(target):
        name = hashlib.sha1(seed).hexdigest()
        with open(os.path.join(directory, name), "wb") as f:
            f.write(seed)
        count += 1
    print(f"seeded {count} inputs into {directory}")


if __name__ == "__main__":
    main()
