#!/usr/bin/env python3
"""Independently re-verify every signed webhook test vector.

Developer tool, NOT run by the Swift tests.  It does not use the conformance
kit's signer: each vector is checked with the provider's own SDK *verifier*
where one exists (stripe, slack_sdk, standardwebhooks, svix, twilio,
hubspot-api-client, squareup, paddle-python-sdk, sendgrid, PyNaCl) and, for every
provider, with an hmac/hashlib recomputation written here from the documented
scheme.  SDK clocks are pinned to the vector's "timestamp" (the vectors are
signed at a fixed time), so the SDKs' freshness windows are exercised too.

For each vector it checks: the main request and the rotated-secret request
verify; a tampered body and a swapped secret are rejected; payload-backed
bodies are byte-identical to Fixtures/payloads/<provider>/<file>; handshake
requests verify (where signed) and their expected responses are recomputed.

Usage:  /tmp/conf-venv/bin/python Tests/Vectors/check.py [FIXTURES_DIR]
Exit status 0 iff every check passes.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import sys
import traceback
from contextlib import contextmanager
from datetime import datetime, timezone
from unittest import mock
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FIXTURES = os.path.normpath(os.path.join(HERE, "..", "..", "Sources", "TributaryTesting", "Fixtures"))
BASE_URL = "https://hooks.example.test/webhooks"
TS = 1795000000
TOP_KEYS = ["provider", "producedBy", "payloadSource", "method", "url", "timestamp", "body", "secret", "headers",
            "rotated", "handshakes"]
HANDSHAKE_KEYS = ["name", "method", "url", "headers", "body", "expect", "source"]
EXPECT_KEYS = ["status", "contentType", "body", "headers"]


# ------------------------------------------------------------------ small utilities
def H(headers: dict, name: str) -> str | None:
    """Case-insensitive header lookup."""
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return None


def hm(key: str, msg: bytes, algo=hashlib.sha256) -> bytes:
    return hmac.new(key.encode("utf-8"), msg, algo).digest()


def eq(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


@contextmanager
def frozen_clock(at: float):
    """Pin every SDK clock used below to `at` (unix seconds)."""
    import standardwebhooks.webhooks as swm
    import hubspot.utils.signature as hsm

    def fixed_dt(real):
        class FixedDT(real):  # type: ignore[misc,valid-type]
            @classmethod
            def now(cls, tz=None):
                return real.fromtimestamp(at, tz=tz or timezone.utc)
        return FixedDT

    with mock.patch.object(swm, "datetime", fixed_dt(swm.datetime)), \
         mock.patch.object(hsm, "datetime", fixed_dt(hsm.datetime)), \
         mock.patch("stripe._webhook.time.time", return_value=at), \
         mock.patch("paddle_billing.Notifications.Verifier.time", return_value=at):
        yield


# ------------------------------------------------------------------ verifiers
# Each takes (secret, headers, body: bytes, url, method) and returns True/False; each runs
# the SDK verifier (if any) AND an independent hmac recomputation, and requires both to agree.
def v_stripe(secret, h, body, url, method):
    import stripe
    sig = H(h, "Stripe-Signature") or ""
    fields = [kv.split("=", 1) for kv in sig.split(",")]
    t = next((v for k, v in fields if k == "t"), None)
    mine = any(k == "v1" and eq(v, hm(secret, f"{t}.".encode() + body).hex()) for k, v in fields)
    try:
        sdk = bool(stripe.WebhookSignature.verify_header(body.decode("utf-8"), sig, secret, tolerance=300))
    except stripe.SignatureVerificationError:
        sdk = False
    return agree(sdk, mine and t == str(TS))


def v_github(secret, h, body, url, method):
    s256 = eq(H(h, "X-Hub-Signature-256"), "sha256=" + hm(secret, body).hex())
    s1 = eq(H(h, "X-Hub-Signature"), "sha1=" + hm(secret, body, hashlib.sha1).hex())
    return agree(s256, s1)


def v_slack(secret, h, body, url, method):
    from slack_sdk.signature import Clock, SignatureVerifier

    class Fixed(Clock):
        def now(self):
            return float(TS)

    sdk = SignatureVerifier(secret, clock=Fixed()).is_valid_request(body, h)
    ts = H(h, "X-Slack-Request-Timestamp") or ""
    mine = eq(H(h, "X-Slack-Signature"), "v0=" + hm(secret, f"v0:{ts}:".encode() + body).hex())
    return agree(sdk, mine)


def v_shopify(secret, h, body, url, method):
    return eq(H(h, "X-Shopify-Hmac-Sha256"), base64.b64encode(hm(secret, body)).decode())


def v_standard_webhooks(secret, h, body, url, method):
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
    try:
        Webhook(secret).verify(body, {k.lower(): v for k, v in h.items()})
        sdk = True
    except WebhookVerificationError:
        sdk = False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{H(h, 'webhook-id')}.{H(h, 'webhook-timestamp')}.".encode() + body
    want = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    mine = any(e.startswith("v1,") and eq(e[3:], want) for e in (H(h, "webhook-signature") or "").split(" "))
    return agree(sdk, mine)


def v_twilio(secret, h, body, url, method):
    from twilio.request_validator import RequestValidator
    assert (H(h, "Content-Type") or "").startswith("application/x-www-form-urlencoded")
    pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)

    class Multi(dict):                      # QueryDict-like, so the SDK sees repeated keys
        def getlist(self, k):
            return self[k]

    params = Multi()
    for k, v in pairs:
        params.setdefault(k, []).append(v)
    sig = H(h, "X-Twilio-Signature") or ""
    sdk = RequestValidator(secret).validate(url, params, sig)
    # documented construction: URL + each param name+value, sorted by name (then value), no separators
    s = url + "".join(k + v for k, v in sorted(pairs))
    mine = eq(sig, base64.b64encode(hm(secret, s.encode(), hashlib.sha1)).decode())
    return agree(sdk, mine)


def v_hubspot(secret, h, body, url, method):
    from hubspot.exceptions import InvalidSignatureTimestampError
    from hubspot.utils.signature import Signature
    ts = H(h, "X-HubSpot-Request-Timestamp")
    text = body.decode("utf-8")
    try:
        sdk3 = Signature.is_valid(H(h, "X-HubSpot-Signature-v3") or "", secret, text, url, method, "v3", ts)
    except InvalidSignatureTimestampError:
        sdk3 = False
    ver = H(h, "X-HubSpot-Signature-Version")
    sdk_legacy = Signature.is_valid(H(h, "X-HubSpot-Signature") or "", secret, text, url, method, ver)
    mine3 = eq(H(h, "X-HubSpot-Signature-v3"),
               base64.b64encode(hm(secret, f"{method}{url}".encode() + body + (ts or "").encode())).decode())
    legacy_src = (secret.encode() + body) if ver == "v1" else (f"{secret}{method}{url}".encode() + body)
    mine_legacy = eq(H(h, "X-HubSpot-Signature"), hashlib.sha256(legacy_src).hexdigest())
    return agree(sdk3, mine3) and agree(sdk_legacy, mine_legacy)   # legacy v1 does not cover the URL


def v_zendesk(secret, h, body, url, method):
    ts = H(h, "X-Zendesk-Webhook-Signature-Timestamp") or ""
    return eq(H(h, "X-Zendesk-Webhook-Signature"), base64.b64encode(hm(secret, ts.encode() + body)).decode())


def v_intercom(secret, h, body, url, method):
    return eq(H(h, "X-Hub-Signature"), "sha1=" + hm(secret, body, hashlib.sha1).hex())


def v_linear(secret, h, body, url, method):
    ok = eq(H(h, "Linear-Signature"), hm(secret, body).hex())
    try:  # the SDK's freshness rule: body webhookTimestamp (ms) within 60 s of now
        fresh = abs(json.loads(body)["webhookTimestamp"] - TS * 1000) <= 60_000
    except (ValueError, KeyError):
        fresh = False
    return ok and fresh


def v_square(secret, h, body, url, method):
    from square.utils.webhooks_helper import verify_signature
    sig = H(h, "x-square-hmacsha256-signature") or ""
    sdk = verify_signature(request_body=body.decode("utf-8"), signature_header=sig, signature_key=secret,
                           notification_url=url)
    mine = eq(sig, base64.b64encode(hm(secret, url.encode() + body)).decode())
    legacy = eq(H(h, "x-square-signature"), base64.b64encode(hm(secret, url.encode() + body, hashlib.sha1)).decode())
    return agree(sdk, mine, legacy)


def v_paddle(secret, h, body, url, method):
    from paddle_billing.Notifications.Secret import Secret
    from paddle_billing.Notifications.Verifier import Verifier

    class Req:
        def __init__(self, headers, raw):
            self.headers, self.body = headers, raw

    sdk = bool(Verifier().verify(Req(h, body), Secret(secret)))
    parts = [p.split("=", 1) for p in (H(h, "Paddle-Signature") or "").split(";")]
    ts = next((v for k, v in parts if k == "ts"), "")
    mine = any(k == "h1" and eq(v, hm(secret, f"{ts}:".encode() + body).hex()) for k, v in parts)
    return agree(sdk, mine and ts == str(TS))


def v_discord(secret, h, body, url, method):
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey
    try:
        VerifyKey(bytes.fromhex(secret)).verify((H(h, "X-Signature-Timestamp") or "").encode() + body,
                                                bytes.fromhex(H(h, "X-Signature-Ed25519") or ""))
        return True
    except (BadSignatureError, ValueError):
        return False


def v_gitlab(secret, h, body, url, method):
    return eq(H(h, "X-Gitlab-Token"), secret)


def v_zoom(secret, h, body, url, method):
    ts = H(h, "x-zm-request-timestamp") or ""
    return eq(H(h, "x-zm-signature"), "v0=" + hm(secret, f"v0:{ts}:".encode() + body).hex())


def v_dropbox(secret, h, body, url, method):
    return eq(H(h, "X-Dropbox-Signature"), hm(secret, body).hex())


def v_asana(secret, h, body, url, method):
    return eq(H(h, "X-Hook-Signature"), hm(secret, body).hex())


def v_microsoft_graph(secret, h, body, url, method):
    try:
        values = json.loads(body)["value"]
    except (ValueError, KeyError):
        return False
    return bool(values) and all(eq(n.get("clientState"), secret) for n in values)


# -- issue 13 providers
def _svix_family(secret, h, body):
    from svix.webhooks import Webhook, WebhookVerificationError
    try:
        Webhook(secret).verify(body, {k.lower(): v for k, v in h.items()})
        sdk = True
    except WebhookVerificationError:
        sdk = False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{H(h, 'svix-id')}.{H(h, 'svix-timestamp')}.".encode() + body
    want = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    mine = any(e.startswith("v1,") and eq(e[3:], want) for e in (H(h, "svix-signature") or "").split(" "))
    return agree(sdk, mine)


def v_svix(secret, h, body, url, method):
    return _svix_family(secret, h, body)


def v_clerk(secret, h, body, url, method):
    return _svix_family(secret, h, body)


def v_resend(secret, h, body, url, method):
    return _svix_family(secret, h, body)


def v_pagerduty(secret, h, body, url, method):
    want = "v1=" + hm(secret, body).hex()
    return any(eq(e.strip(), want) for e in (H(h, "X-PagerDuty-Signature") or "").split(","))


def v_calendly(secret, h, body, url, method):
    fields = dict(kv.split("=", 1) for kv in (H(h, "Calendly-Webhook-Signature") or "=").split(","))
    t = fields.get("t", "")
    return t == str(TS) and eq(fields.get("v1"), hm(secret, f"{t}.".encode() + body).hex())


def v_typeform(secret, h, body, url, method):
    return eq(H(h, "Typeform-Signature"), "sha256=" + base64.b64encode(hm(secret, body)).decode())


def v_jira(secret, h, body, url, method):
    return eq(H(h, "X-Hub-Signature"), "sha256=" + hm(secret, body).hex())


def v_trello(secret, h, body, url, method):
    return eq(H(h, "X-Trello-Webhook"), base64.b64encode(hm(secret, body + url.encode(), hashlib.sha1)).decode())


def v_mailgun(secret, h, body, url, method):
    try:
        sig = json.loads(body)["signature"]
    except (ValueError, KeyError):
        return False
    fresh = abs(int(sig["timestamp"]) - TS) <= 300
    return fresh and eq(sig["signature"], hm(secret, (sig["timestamp"] + sig["token"]).encode()).hex())


def v_sendgrid(secret, h, body, url, method):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_public_key
    from sendgrid.helpers.eventwebhook import EventWebhook
    sig, ts = H(h, "X-Twilio-Email-Event-Webhook-Signature") or "", H(h, "X-Twilio-Email-Event-Webhook-Timestamp") or ""
    ew = EventWebhook()
    sdk = bool(ew.verify_signature(body.decode("utf-8"), sig, ts, ew.convert_public_key_to_ecdsa(secret)))
    try:
        load_der_public_key(base64.b64decode(secret)).verify(base64.b64decode(sig), ts.encode() + body,
                                                             ec.ECDSA(hashes.SHA256()))
        mine = True
    except (InvalidSignature, ValueError):
        mine = False
    return agree(sdk, mine)


def v_twitch(secret, h, body, url, method):
    msg = (H(h, "Twitch-Eventsub-Message-Id") or "").encode() + (H(h, "Twitch-Eventsub-Message-Timestamp") or "").encode()
    return eq(H(h, "Twitch-Eventsub-Message-Signature"), "sha256=" + hm(secret, msg + body).hex())


def v_bitbucket(secret, h, body, url, method):
    return eq(H(h, "X-Hub-Signature"), "sha256=" + hm(secret, body).hex())


def v_sentry(secret, h, body, url, method):
    return eq(H(h, "Sentry-Hook-Signature"), hm(secret, body).hex())


def v_vercel(secret, h, body, url, method):
    return eq(H(h, "x-vercel-signature"), hm(secret, body, hashlib.sha1).hex())


def v_lemon_squeezy(secret, h, body, url, method):
    return eq(H(h, "X-Signature"), hm(secret, body).hex())


def v_mux(secret, h, body, url, method):
    fields = dict(kv.split("=", 1) for kv in (H(h, "Mux-Signature") or "=").split(","))
    t = fields.get("t", "")
    return t == str(TS) and eq(fields.get("v1"), hm(secret, f"{t}.".encode() + body).hex())


def v_customer_io(secret, h, body, url, method):
    ts = H(h, "X-CIO-Timestamp") or ""
    return ts == str(TS) and eq(H(h, "X-CIO-Signature"), hm(secret, f"v0:{ts}:".encode() + body).hex())


def v_webflow(secret, h, body, url, method):
    ts = H(h, "x-webflow-timestamp") or ""
    return ts == str(TS * 1000) and eq(H(h, "x-webflow-signature"), hm(secret, f"{ts}:".encode() + body).hex())


def v_coinbase_commerce(secret, h, body, url, method):
    return eq(H(h, "X-CC-Webhook-Signature"), hm(secret, body).hex())


def _basic(secret, h):
    auth = H(h, "Authorization") or ""
    return auth.startswith("Basic ") and eq(base64.b64decode(auth[6:]).decode("utf-8"), secret)


def v_postmark(secret, h, body, url, method):
    return _basic(secret, h)


def v_chargebee(secret, h, body, url, method):
    return _basic(secret, h)


def v_x(secret, h, body, url, method):
    return eq(H(h, "x-twitter-webhooks-signature"), "sha256=" + base64.b64encode(hm(secret, body)).decode())


def agree(*results: bool) -> bool:
    """All verifiers for one request must give the same verdict; disagreement is a bug in a vector or a check."""
    if len(set(results)) != 1:
        raise AssertionError(f"verifiers disagree: {results}")
    return results[0]


VERIFY = {name[2:].replace("_", "-"): fn for name, fn in globals().items() if name.startswith("v_")}


# ------------------------------------------------------------------ per-file checks
class Failures(Exception):
    pass


def tamper(body: bytes) -> bytes:
    """Change one alphanumeric byte near the middle (keeps JSON / form syntax valid)."""
    i = len(body) // 2
    while not chr(body[i]).isalnum():
        i += 1
    return body[:i] + (b"1" if body[i:i + 1] == b"0" else b"0") + body[i + 1:]


def check_vector(fixtures: str, path: str) -> list[str]:
    done: list[str] = []
    v = json.load(open(path, encoding="utf-8"))
    prov = os.path.basename(path)[:-5]

    def need(cond, what):
        if not cond:
            raise AssertionError(what)
        done.append(what)

    need(all(k in v for k in TOP_KEYS), "all keys present")
    extra = set(v) - set(TOP_KEYS) - ({"signingKeySeedHex"} if prov == "discord" else set())
    need(not extra, f"no unexpected keys {sorted(extra) or ''}".strip())
    need(v["provider"] == prov, "provider == file name")
    need(v["timestamp"] == TS, "timestamp == 1795000000")
    need(urlsplit(v["url"])._replace(query="").geturl() == f"{BASE_URL}/{prov}/conn_{prov}", "url is the connection URL")
    body = v["body"].encode("utf-8")

    src = v["payloadSource"]
    if src.startswith("payloads/"):
        rel = src.split(" ", 1)[0][len("payloads/"):]
        with open(os.path.join(fixtures, "payloads", rel), "rb") as f:
            need(f.read() == body, f"body byte-identical to payloads/{rel}")
    else:
        need(src.startswith("synthetic"), "payloadSource is a payload file or 'synthetic'")

    verify = VERIFY[prov]
    url, method = v["url"], v["method"]
    rot = v["rotated"]
    rot_body = rot.get("body", v["body"]).encode("utf-8")
    need(rot["secret"] != v["secret"], "rotated secret differs")
    with frozen_clock(TS):
        need(verify(v["secret"], v["headers"], body, url, method) is True, "main request verifies")
        need(verify(rot["secret"], rot["headers"], rot_body, url, method) is True, "rotated request verifies")
        if prov in ("gitlab", "microsoft-graph", "postmark", "chargebee", "mailgun"):
            # token / clientState / Basic credentials / Mailgun's timestamp+token: nothing covers the body
            need(verify(v["secret"], v["headers"], tamper(body), url, method) is True,
                 "no body integrity: tampered body still accepted (by design of the provider)")
        else:
            need(verify(v["secret"], v["headers"], tamper(body), url, method) is False, "tampered body rejected")
        if prov == "mailgun":           # the signature lives in the body: each secret signed its own body
            need(verify(rot["secret"], v["headers"], body, url, method) is False, "main body + rotated secret rejected")
            need(verify(v["secret"], rot["headers"], rot_body, url, method) is False, "rotated body + main secret rejected")
        elif prov != "microsoft-graph":   # Graph has no signature; its secret lives in the body
            need(verify(rot["secret"], v["headers"], body, url, method) is False, "main headers + rotated secret rejected")
            need(verify(v["secret"], rot["headers"], body, url, method) is False, "rotated headers + main secret rejected")
        else:
            need(verify(rot["secret"], v["headers"], body, url, method) is False, "main body + rotated secret rejected")
        if prov in ("twilio", "square", "hubspot", "trello"):
            need(verify(v["secret"], v["headers"], body, url + "/", method) is False, "signature covers the URL")
    if prov == "discord":
        from nacl.signing import SigningKey
        for blk in (v, rot):
            need(bytes(SigningKey(bytes.fromhex(blk["signingKeySeedHex"])).verify_key).hex() == blk["secret"],
                 "secret is the public key of signingKeySeedHex")

    for hs in v["handshakes"]:
        done += check_handshake(prov, v, hs)
    expected_hs = {"slack": "slack-url-verification", "zoom": "zoom-url-validation", "dropbox": "dropbox-challenge",
                   "asana": "asana-hook-secret", "microsoft-graph": "graph-validation-token",
                   "discord": "discord-ping", "twitch": "twitch-callback-verification", "x": "x-crc",
                   "trello": "trello-head"}
    need([h["name"] for h in v["handshakes"]] == ([expected_hs[prov]] if prov in expected_hs else []),
         "handshake set as specified")
    return done


def check_handshake(prov: str, v: dict, hs: dict) -> list[str]:
    done = []

    def need(cond, what):
        if not cond:
            raise AssertionError(f"{hs['name']}: {what}")
        done.append(f"{hs['name']}: {what}")

    need(list(hs) == HANDSHAKE_KEYS and list(hs["expect"]) == EXPECT_KEYS, "keys")
    need(hs["expect"]["status"] == 200, "expects 200")
    body = hs["body"].encode("utf-8")
    exp = hs["expect"]
    with frozen_clock(TS):
        if prov == "slack":
            need(VERIFY["slack"](v["secret"], hs["headers"], body, hs["url"], hs["method"]), "request is signed")
            req = json.loads(body)
            need(req["type"] == "url_verification" and exp["body"] == req["challenge"], "echoes challenge")
            need(exp["contentType"] == "text/plain", "text/plain")
        elif prov == "zoom":
            need(VERIFY["zoom"](v["secret"], hs["headers"], body, hs["url"], hs["method"]), "request is signed")
            req = json.loads(body)
            plain = req["payload"]["plainToken"]
            enc = hmac.new(v["secret"].encode(), plain.encode(), hashlib.sha256).hexdigest()
            need(req["event"] == "endpoint.url_validation", "event endpoint.url_validation")
            need(json.loads(exp["body"]) == {"plainToken": plain, "encryptedToken": enc}, "encryptedToken recomputed")
            need(exp["contentType"] == "application/json", "application/json")
        elif prov == "discord":
            need(VERIFY["discord"](v["secret"], hs["headers"], body, hs["url"], hs["method"]), "request is signed")
            need(json.loads(body)["type"] == 1 and json.loads(exp["body"]) == {"type": 1}, "PING -> PONG")
        elif prov == "dropbox":
            q = parse_qs(urlsplit(hs["url"]).query)
            need(hs["method"] == "GET" and q["challenge"] == [exp["body"]], "GET echoes challenge")
            need(exp["headers"] == {"X-Content-Type-Options": "nosniff"} and exp["contentType"] == "text/plain",
                 "text/plain + nosniff")
        elif prov == "asana":
            sec = H(hs["headers"], "X-Hook-Secret")
            need(sec == v["secret"] and exp["headers"] == {"X-Hook-Secret": sec}, "echoes X-Hook-Secret == signing key")
            need(hs["body"] == "" and exp["body"] == "", "empty bodies")
        elif prov == "microsoft-graph":
            raw = urlsplit(hs["url"]).query.split("validationToken=", 1)[1]
            need(exp["body"] == unquote(raw) and exp["contentType"] == "text/plain", "URL-decoded token, text/plain")
            need(hs["body"] == "" and H(hs["headers"], "Content-Type") == "text/plain", "empty text/plain request")
        elif prov == "twitch":
            need(VERIFY["twitch"](v["secret"], hs["headers"], body, hs["url"], hs["method"]), "request is signed")
            need(H(hs["headers"], "Twitch-Eventsub-Message-Type") == "webhook_callback_verification", "message type")
            need(exp["body"] == json.loads(body)["challenge"] and exp["contentType"] == "text/plain",
                 "echoes challenge as text/plain")
        elif prov == "x":
            token = parse_qs(urlsplit(hs["url"]).query)["crc_token"][0]
            want = "sha256=" + base64.b64encode(hm(v["secret"], token.encode())).decode()
            need(hs["method"] == "GET" and json.loads(exp["body"]) == {"response_token": want}, "response_token recomputed")
            need("{" not in token, "token is not a JSON object (the CRC would otherwise sign a body)")
        elif prov == "trello":
            need(hs["method"] == "HEAD" and hs["body"] == "" and exp["body"] == "", "HEAD answered 200, empty")
        else:
            need(False, "unexpected handshake")
    return done


def main(argv=None) -> int:
    fixtures = (argv or sys.argv[1:] or [DEFAULT_FIXTURES])[0]
    vec_dir = os.path.join(fixtures, "vectors")
    files = sorted(f for f in os.listdir(vec_dir) if f.endswith(".json"))
    failed = 0
    for f in files:
        try:
            done = check_vector(fixtures, os.path.join(vec_dir, f))
            print(f"PASS  {f:<24} {len(done)} checks")
        except Exception as e:  # noqa: BLE001
            failed += 1
            print(f"FAIL  {f:<24} {type(e).__name__}: {e}")
            if os.environ.get("DEBUG"):
                traceback.print_exc()
    # payload folder must hold exactly the files the vectors reference, each listed in SOURCES.md
    pay_dir = os.path.join(fixtures, "payloads")
    on_disk = sorted(os.path.relpath(os.path.join(d, n), pay_dir) for d, _, ns in os.walk(pay_dir) for n in ns
                     if n != "SOURCES.md")
    referenced = set()
    for f in files:
        v = json.load(open(os.path.join(vec_dir, f), encoding="utf-8"))
        if v["payloadSource"].startswith("payloads/"):
            referenced.add(v["payloadSource"].split(" ", 1)[0][len("payloads/"):])
    referenced.add("slack/url_verification.json")           # the Slack handshake body
    listed = set(re.findall(r"^\| `([^`]+)` \|", open(os.path.join(pay_dir, "SOURCES.md"), encoding="utf-8").read(), re.M))
    ok = set(on_disk) == referenced == listed
    print(f"{'PASS' if ok else 'FAIL'}  payloads/                {len(on_disk)} files == referenced == SOURCES.md rows")
    failed += not ok
    slack_hs = json.load(open(os.path.join(vec_dir, "slack.json"), encoding="utf-8"))["handshakes"][0]["body"]
    with open(os.path.join(pay_dir, "slack", "url_verification.json"), "rb") as fh:
        ok = fh.read() == slack_hs.encode("utf-8")
    print(f"{'PASS' if ok else 'FAIL'}  slack handshake body     byte-identical to payloads/slack/url_verification.json")
    failed += not ok
    print(f"\n{len(files)} vector files, {failed} failure(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
