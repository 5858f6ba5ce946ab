#!/usr/bin/env python3
"""Regenerate Tributary's signed webhook test vectors.

Developer tool, NOT run by the Swift tests.  It drives the independent
conformance signer kit (sign.py: official provider SDK signing code wherever
one exists) and writes

  Sources/TributaryTesting/Fixtures/vectors/<provider>.json   one file per provider
  Sources/TributaryTesting/Fixtures/payloads/<provider>/<file> byte-exact copies of the
                                                                example payloads used
  Sources/TributaryTesting/Fixtures/payloads/SOURCES.md        attribution/licence rows for
                                                                exactly those files

Usage (run with the kit's venv, so the pinned SDKs are importable):

  python3 -m venv /tmp/conf-venv
  /tmp/conf-venv/bin/pip install -r <KIT_DIR>/requirements.txt
  /tmp/conf-venv/bin/python Tests/Vectors/generate.py <KIT_DIR> <PAYLOADS_DIR> [--out FIXTURES_DIR]
  /tmp/conf-venv/bin/python Tests/Vectors/check.py          # re-verify everything independently

Everything is deterministic: fixed timestamp (1795000000 = 2026-11-18T11:06:40Z),
fixed ids, and secrets derived from fixed labels, so re-running produces
byte-identical files.  The tests inject the server clock from "timestamp".
"""
from __future__ import annotations

import argparse
import atexit
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from importlib.metadata import version as dist_version
from urllib.parse import unquote

TS = 1795000000                      # one signing time for every vector (no published vector applies)
TS_MS = TS * 1000
TS_RFC3339 = datetime.fromtimestamp(TS, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # 2026-11-18T11:06:40Z
BASE_URL = "https://hooks.example.test/webhooks"
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "..", "Sources", "TributaryTesting", "Fixtures"))

JSON_CT = "application/json"

# Fixed ids (deterministic output).
GITHUB_DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"          # the example GUID in GitHub's delivery-headers docs
SHOPIFY_WEBHOOK_ID = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
SHOPIFY_EVENT_ID = "98880550-7158-44d4-b7cd-2c97c8a091b5"
STDWH_MSG_ID = "msg_2tRbVx0Jd8pQy3NcK5sLmA7WfZe"
ZENDESK_WEBHOOK_ID = "01JCZ3T8YQ5W6X7V9B0N2M4K6H"
LINEAR_DELIVERY = "234d1a4e-b617-4388-90fe-adc3633d6b72"
GITLAB_EVENT_UUID = "a6c0b1f5-3d39-4a55-8c36-0f2a6b1e7d24"       # X-Gitlab-Event-UUID == Idempotency-Key
GITLAB_WEBHOOK_UUID = "5f0e8c2a-9b1d-4e7f-a3c6-1d2b4e6f8a90"     # sign.py would emit a random uuid4; pinned here

ZOOM_PLAIN_TOKEN = "qgg8vlvZRS6UYooatFL8Aw"
DROPBOX_CHALLENGE = "abc123XYZ"
GRAPH_VALIDATION_QUERY = ("Validation%3A%20Testing%20client%20application%20reachability%20for%20subscription"
                          "%20Request-Id%3A%20f4f6a8bd-1a2b-4c3d-8e9f-0a1b2c3d4e5f")

# Synthetic bodies: exact bytes (written as literals so no serializer can reorder/reformat them).
SHOPIFY_BODY = (b'{"id":820982911946154508,"updated_at":"2026-11-20T10:00:00-05:00","email":"jon@example.com",'
                b'"total_price":"10.00"}')
HUBSPOT_BODY = (b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
                b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM",'
                b'"changeFlag":"NEW","appId":54321}]')
ZENDESK_BODY = (b'{"type":"zen:event-type:ticket.status_changed","account_id":10001,'
                b'"id":"2b1c7c3e-0a1f-4b2a-9a61-3c1f2e6d7a10","time":"2026-11-20T10:00:00Z",'
                b'"zendesk_event_version":"2022-11-06","subject":"zen:ticket:35436",'
                b'"detail":{"id":"35436","status":"OPEN","updated_at":"2026-11-20T10:00:00Z"},'
                b'"event":{"current":"OPEN","previous":"NEW"}}')
INTERCOM_BODY = (b'{"type":"notification_event","app_id":"abc123","id":"notif_7a1b2c3d","topic":"contact.user.created",'
                 b'"created_at":1795000000,"data":{"type":"notification_event_data","item":{"type":"contact",'
                 b'"id":"6643a1b2c3d4e5f6a7b8c9d0","role":"user","email":"jon@example.com","updated_at":1795000000}}}')
LINEAR_BODY = (b'{"action":"create","type":"Issue","createdAt":"2026-11-20T10:00:00.000Z","organizationId":"org-1",'
               b'"webhookId":"wh-1","webhookTimestamp":%d,"url":"https://linear.app/x/issue/ENG-1",'
               b'"data":{"id":"2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9","title":"Bug",'
               b'"updatedAt":"2026-11-20T10:00:00.000Z"}}') % TS_MS
ZOOM_BODY = (b'{"event":"meeting.started","event_ts":%d,"payload":{"account_id":"AAAAAABBBB","object":'
             b'{"id":"1234567890","uuid":"4444AAAiAAAAAiAiAiiAii==","topic":"My Meeting",'
             b'"start_time":"2026-11-20T10:00:00Z"}}}') % TS_MS
ZOOM_VALIDATION_BODY = (b'{"payload":{"plainToken":"%s"},"event_ts":%d,"event":"endpoint.url_validation"}'
                        % (ZOOM_PLAIN_TOKEN.encode(), TS_MS))
DROPBOX_BODY = b'{"list_folder":{"accounts":["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]},"delta":{"users":[12345678]}}'
ASANA_BODY = (b'{"events":[{"user":{"gid":"1","resource_type":"user"},"created_at":"2026-11-20T10:00:00.000Z",'
              b'"action":"changed","resource":{"gid":"1337","resource_type":"task"},"parent":null,'
              b'"change":{"field":"name","action":"changed"}}]}')
GRAPH_BODY_TEMPLATE = (
    '{"value":[{"subscriptionId":"7f105c7d-2dc5-4530-97cd-4e7ae6534c07",'
    '"subscriptionExpirationDateTime":"2026-11-22T10:00:00+00:00","changeType":"updated",'
    '"resource":"Users/6ea0b4a5-1a2b-4c3d-8e9f-0a1b2c3d4e5f","resourceData":{"@odata.type":"#Microsoft.Graph.User",'
    '"@odata.id":"Users/6ea0b4a5-1a2b-4c3d-8e9f-0a1b2c3d4e5f","id":"6ea0b4a5-1a2b-4c3d-8e9f-0a1b2c3d4e5f"},'
    '"clientState":"{SECRET}","tenantId":"84bd8158-6d4d-4958-8b9f-9d6445542f95"}]}')
# Discord interactions-endpoint PING (docs give no literal body); ids/token borrowed from the docs examples
# in payloads/discord/ (application_id = the ENTITLEMENT_CREATE app, id/token = interaction example).
DISCORD_PING_BODY = (b'{"type":1,"id":"786008729715212338","application_id":"1234560123453231555",'
                     b'"token":"A_UNIQUE_TOKEN","version":1}')

# Published-vector sanity gates (reference webhook-providers.md §3 and payloads/SOURCES.md).
HUBSPOT_DOCS_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
HUBSPOT_DOCS_V1 = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
PADDLE_SDK_SECRET = "pdl_ntfset_01hs0t3tw21j988db1pam5xg8m_GrOWLNef+vmtjJYq4mSnHNzvc8uWoJ1I"
PADDLE_SDK_VECTOR = "ts=1710498758;h1=558bf93944dbeb4790c7a8af6cb2ea435c8ca9c8396aafc1a4e37424ac132744"


# ------------------------------------------------------------------ helpers
def url_for(provider: str) -> str:
    return f"{BASE_URL}/{provider}/conn_{provider}"


def seed(provider: str, n: int) -> bytes:
    """Deterministic key material: SHA-256 of a fixed label."""
    return hashlib.sha256(f"tributary-test-vector/{provider}/{n}".encode()).digest()


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def make_secret(provider: str, n: int) -> str:
    s = seed(provider, n)
    return {
        "stripe": lambda: "whsec_" + s.hex()[:32],
        "github": lambda: s.hex()[:40],
        "slack": lambda: s.hex()[:32],
        "shopify": lambda: "shpss_" + s.hex()[:32],
        "standard-webhooks": lambda: "whsec_" + base64.b64encode(s[:24]).decode(),   # key = base64-decoded bytes
        "twilio": lambda: s.hex()[:32],
        "hubspot": lambda: HUBSPOT_DOCS_SECRET if n == 1 else "-".join(
            (s.hex()[0:8], s.hex()[8:12], s.hex()[12:16], s.hex()[16:20], s.hex()[20:32])),
        "zendesk": lambda: base64.b64encode(s).decode(),   # base64-LOOKING, but used verbatim as the key
        "intercom": lambda: s.hex()[:40],
        "linear": lambda: "lin_wh_" + b64url(s)[:32],
        "square": lambda: b64url(s)[:22],
        "paddle": lambda: "pdl_ntfset_01jtributary" + s.hex()[:15] + "_" + base64.b64encode(s[8:32]).decode(),
        "gitlab": lambda: "glwht-" + s.hex()[:24],
        "zoom": lambda: b64url(s)[:22],
        "dropbox": lambda: s.hex()[:15],
        "asana": lambda: s.hex()[:32],            # the X-Hook-Secret Asana sends in the handshake
        "microsoft-graph": lambda: "tributary-clientState-" + s.hex()[:16],
    }[provider]()


class Kit:
    """Runs <kit>/sign.py as a CLI (as its README documents), body via a temp file."""

    def __init__(self, kit_dir: str):
        self.sign_py = os.path.join(kit_dir, "sign.py")
        if not os.path.isfile(self.sign_py):
            raise SystemExit(f"no sign.py in {kit_dir}")
        self.tmp = tempfile.mkdtemp(prefix="tributary-vectors-")
        atexit.register(shutil.rmtree, self.tmp, True)
        self.source = self._signer_source()
        self._check_pins(os.path.join(kit_dir, "requirements.txt"))

    def _signer_source(self) -> dict:
        r = subprocess.run([sys.executable, "-c",
                            "import importlib.util,json,sys;"
                            "s=importlib.util.spec_from_file_location('sign',sys.argv[1]);m=importlib.util.module_from_spec(s);"
                            "s.loader.exec_module(m);print(json.dumps(m.SIGNER_SOURCE))", self.sign_py],
                           capture_output=True, text=True, check=True)
        return json.loads(r.stdout)

    @staticmethod
    def _check_pins(req_path: str) -> None:
        """producedBy names SDK versions, so they must be the kit's pinned ones."""
        for line in open(req_path, encoding="utf-8"):
            line = line.split("#", 1)[0].strip()
            if "==" not in line:
                continue
            name, want = line.split("==", 1)
            have = dist_version(name)
            if have != want:
                raise SystemExit(f"{name} {have} installed, kit pins {want}: use a venv built from requirements.txt")

    def sign(self, provider: str, body: bytes, *args: str) -> tuple[dict, list[str]]:
        path = os.path.join(self.tmp, "body")
        with open(path, "wb") as f:
            f.write(body)
        r = subprocess.run([sys.executable, self.sign_py, provider, "--body-file", path, *args],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"sign.py {provider} failed:\n{r.stderr}")
        headers: dict[str, str] = {}
        for line in r.stdout.splitlines():
            k, v = line.split(": ", 1)
            headers[k] = v
        notes = [ln[2:] for ln in r.stderr.splitlines() if ln.startswith("# ")]
        return headers, notes


def with_ct(headers: dict, ct: str = JSON_CT) -> dict:
    """Add Content-Type when the kit does not emit one (real deliveries always carry it)."""
    if not any(k.lower() == "content-type" for k in headers):
        headers = {**headers, "Content-Type": ct}
    return headers


def sdk(dist: str, fn: str) -> str:
    return f"{dist} {dist_version(dist)} {fn}, via conformance/sign.py"


def hmac_only(why: str) -> str:
    return f"hmac/hashlib ({why}), via conformance/sign.py"


# ------------------------------------------------------------------ per-provider builders
# Each returns (vector dict without provider/url/timestamp boilerplate ordering, payload files used).
class Builder:
    def __init__(self, kit: Kit, payloads: str):
        self.kit = kit
        self.payloads = payloads
        self.used: list[str] = []          # "provider/file" relative to payloads dir

    def payload(self, rel: str) -> bytes:
        self.used.append(rel)
        with open(os.path.join(self.payloads, rel), "rb") as f:
            return f.read()

    @staticmethod
    def file_source(rel: str) -> str:
        return f"payloads/{rel} (see payloads/SOURCES.md)"

    def vector(self, provider, produced_by, payload_source, body: bytes, headers, rot_headers,
               url=None, method="POST", handshakes=(), extra_top=None, extra_rot=None, secrets=None):
        s1, s2 = secrets or (make_secret(provider, 1), make_secret(provider, 2))
        v = {
            "provider": provider,
            "producedBy": produced_by,
            "payloadSource": payload_source,
            "method": method,
            "url": url or url_for(provider),
            "timestamp": TS,
            "body": body.decode("utf-8"),
            "secret": s1,
        }
        v.update(extra_top or {})
        v["headers"] = headers
        rot = {"secret": s2}
        rot.update(extra_rot or {})
        rot["headers"] = rot_headers
        v["rotated"] = rot
        v["handshakes"] = list(handshakes)
        return v

    # -- both secrets through the same signer call
    def both(self, kit_provider: str, provider: str, body: bytes, *args: str, ct: str | None = JSON_CT):
        out = []
        for n in (1, 2):
            h, _ = self.kit.sign(kit_provider, body, "--secret", make_secret(provider, n), *args)
            out.append(with_ct(h, ct) if ct else h)
        return out

    def stripe(self):
        rel = "stripe/customer.created.json"
        body = self.payload(rel)
        h1, h2 = self.both("stripe", "stripe", body, "--timestamp", str(TS))
        return self.vector("stripe", sdk("stripe", "stripe.WebhookSignature.generate_signature_header"),
                           self.file_source(rel), body, h1, h2)

    def github(self):
        rel = "github/issues.opened.json"
        body = self.payload(rel)
        h1, h2 = self.both("github", "github", body, "--event", "issues", "--id", GITHUB_DELIVERY)
        return self.vector("github", hmac_only("no GitHub SDK signer; kit checked vs GitHub docs vector"),
                           self.file_source(rel), body, h1, h2)

    def slack(self):
        rel = "slack/event_callback.reaction_added.json"
        body = self.payload(rel)
        h1, h2 = self.both("slack", "slack", body, "--timestamp", str(TS))
        hs_rel = "slack/url_verification.json"
        hs_body = self.payload(hs_rel)
        hs_headers, _ = self.kit.sign("slack", hs_body, "--secret", make_secret("slack", 1), "--timestamp", str(TS))
        challenge = json.loads(hs_body)["challenge"]
        handshake = {
            "name": "slack-url-verification",
            "method": "POST",
            "url": url_for("slack"),
            "headers": with_ct(hs_headers),
            "body": hs_body.decode("utf-8"),
            "expect": {"status": 200, "contentType": "text/plain", "body": challenge, "headers": {}},
            "source": "https://api.slack.com/events/url_verification (reply 200 with the challenge as text/plain); "
                      "body = payloads/slack/url_verification.json; signed with slack_sdk via conformance/sign.py",
        }
        return self.vector("slack", sdk("slack_sdk", "slack_sdk.signature.SignatureVerifier.generate_signature"),
                           self.file_source(rel), body, h1, h2, handshakes=[handshake])

    def shopify(self):
        args = ("--timestamp", str(TS), "--event", "orders/updated", "--id", SHOPIFY_WEBHOOK_ID,
                "--event-id", SHOPIFY_EVENT_ID, "--shop", "example.myshopify.com")
        h1, h2 = self.both("shopify", "shopify", SHOPIFY_BODY, *args)
        return self.vector("shopify", hmac_only(f"ShopifyAPI {dist_version('ShopifyAPI')} has no webhook signer"),
                           "synthetic, shaped after https://shopify.dev/docs/api/webhooks?reference=toml (orders/updated "
                           "sample payload; id > 2^53 on purpose)",
                           SHOPIFY_BODY, h1, h2)

    def standard_webhooks(self):
        rel = "standard-webhooks/contact.created.full.json"
        body = self.payload(rel)
        h1, h2 = self.both("standardwebhooks", "standard-webhooks", body, "--timestamp", str(TS), "--id", STDWH_MSG_ID)
        return self.vector("standard-webhooks", sdk("standardwebhooks", "standardwebhooks.webhooks.Webhook.sign"),
                           self.file_source(rel), body, h1, h2)

    def twilio(self):
        rel = "twilio/voice-gather.duplicate-keys.form.txt"
        body = self.payload(rel)
        if not re.fullmatch(rb"[A-Za-z0-9_.%+\-]+=[A-Za-z0-9_.%+\-]*(&[A-Za-z0-9_.%+\-]+=[A-Za-z0-9_.%+\-]*)*", body):
            raise SystemExit("twilio payload is not a plain form body")
        h1, h2 = self.both("twilio", "twilio", body, "--url", url_for("twilio"), "--twilio-mode", "form", ct=None)
        return self.vector("twilio", sdk("twilio", "twilio.request_validator.RequestValidator.compute_signature"),
                           self.file_source(rel), body, h1, h2)

    def hubspot(self):
        args = ("--url", url_for("hubspot"), "--timestamp", str(TS_MS), "--method", "POST")
        h1, h2 = self.both("hubspot", "hubspot", HUBSPOT_BODY, *args)
        if h1["X-HubSpot-Signature"] != HUBSPOT_DOCS_V1:      # same body + docs secret as HubSpot's v1 example
            raise SystemExit("hubspot legacy v1 header does not match the published docs vector")
        return self.vector("hubspot", sdk("hubspot-api-client", "hubspot.utils.signature.Signature.get_signature "
                                          "(v3 + legacy v1)"),
                           "synthetic, shaped after https://developers.hubspot.com/docs/api/webhooks "
                           "(= the body of HubSpot's published v1 request-validation example; with the docs secret "
                           "the legacy X-HubSpot-Signature equals the published 232db2...17de)",
                           HUBSPOT_BODY, h1, h2)

    def zendesk(self):
        h1, h2 = self.both("zendesk", "zendesk", ZENDESK_BODY, "--timestamp", TS_RFC3339, "--id", ZENDESK_WEBHOOK_ID)
        return self.vector("zendesk", hmac_only("no Zendesk SDK signer"),
                           "synthetic, shaped after https://developer.zendesk.com/api-reference/webhooks/event-types/"
                           "ticket-events/ (ticket status changed)", ZENDESK_BODY, h1, h2)

    def intercom(self):
        h1, h2 = self.both("intercom", "intercom", INTERCOM_BODY)
        return self.vector("intercom", hmac_only("no Intercom SDK signer"),
                           "synthetic, shaped after https://developers.intercom.com/docs/references/webhooks/"
                           "webhook-models (notification_event, contact.user.created)", INTERCOM_BODY, h1, h2)

    def linear(self):
        h1, h2 = self.both("linear", "linear", LINEAR_BODY, "--id", LINEAR_DELIVERY, "--event", "Issue")
        return self.vector("linear", hmac_only("only @linear/sdk (TypeScript) verifies"),
                           "synthetic, shaped after https://linear.app/developers/webhooks (Issue create; "
                           "webhookTimestamp = signing time in ms)", LINEAR_BODY, h1, h2)

    def square(self):
        rel = "square/customer.created.json"
        body = self.payload(rel)
        h1, h2 = self.both("square", "square", body, "--url", url_for("square"))
        return self.vector("square", hmac_only(f"squareup {dist_version('squareup')} only verifies: "
                                               "square.utils.webhooks_helper"),
                           self.file_source(rel), body, h1, h2)

    def paddle(self):
        rel = "paddle/customer.created.json"
        body = self.payload(rel)
        # sanity gate: the kit reproduces the SDK's own published vector (its test strips the trailing newline)
        gate, _ = self.kit.sign("paddle", body.rstrip(b"\n"), "--secret", PADDLE_SDK_SECRET, "--timestamp", "1710498758")
        if gate["Paddle-Signature"] != PADDLE_SDK_VECTOR:
            raise SystemExit("paddle: kit does not reproduce the paddle-python-sdk test vector")
        h1, h2 = self.both("paddle", "paddle", body, "--timestamp", str(TS))
        return self.vector("paddle", sdk("paddle-python-sdk",
                                         "paddle_billing.Notifications.PaddleSignature.calculate_hmac"),
                           self.file_source(rel), body, h1, h2)

    def discord(self):
        rel = "discord/webhook-event.ENTITLEMENT_CREATE.json"
        body = self.payload(rel)
        signed = []
        for n in (1, 2):
            seed_hex = seed("discord", n).hex()
            h, notes = self.kit.sign("discord", body, "--secret", seed_hex, "--timestamp", str(TS))
            pub = next(x.split(": ", 1)[1] for x in notes if x.startswith("application public key"))
            signed.append((seed_hex, pub, with_ct(h)))
        (s1, p1, h1), (s2, p2, h2) = signed
        ping_h, _ = self.kit.sign("discord", DISCORD_PING_BODY, "--secret", s1, "--timestamp", str(TS))
        handshake = {
            "name": "discord-ping",
            "method": "POST",
            "url": url_for("discord"),
            "headers": with_ct(ping_h),
            "body": DISCORD_PING_BODY.decode(),
            "expect": {"status": 200, "contentType": "application/json", "body": '{"type":1}', "headers": {}},
            "source": "https://discord.com/developers/docs/interactions/receiving-and-responding#receiving-an-interaction"
                      " (PING type 1 -> PONG {\"type\":1}); signed with PyNaCl via conformance/sign.py",
        }
        v = self.vector("discord", sdk("PyNaCl", "nacl.signing.SigningKey (no official Discord Python SDK)"),
                        self.file_source(rel), body, h1, h2, handshakes=[handshake],
                        extra_top={"signingKeySeedHex": s1}, extra_rot={"signingKeySeedHex": s2},
                        secrets=(p1, p2))                 # what a connection stores: the public key (hex)
        return v

    def gitlab(self):
        rel = "gitlab/issue_hook.open.json"
        body = self.payload(rel)
        h1, h2 = self.both("gitlab", "gitlab", body, "--event", "Issue Hook", "--id", GITLAB_EVENT_UUID)
        for h in (h1, h2):
            h["X-Gitlab-Webhook-UUID"] = GITLAB_WEBHOOK_UUID
        return self.vector("gitlab", "plain token echo (X-Gitlab-Token = secret; GitLab signs nothing), "
                                     "via conformance/sign.py", self.file_source(rel), body, h1, h2)

    def zoom(self):
        h1, h2 = self.both("zoom", "zoom", ZOOM_BODY, "--timestamp", str(TS))
        hs_h, _ = self.kit.sign("zoom", ZOOM_VALIDATION_BODY, "--secret", make_secret("zoom", 1), "--timestamp", str(TS))
        encrypted = hmac.new(make_secret("zoom", 1).encode(), ZOOM_PLAIN_TOKEN.encode(), hashlib.sha256).hexdigest()
        handshake = {
            "name": "zoom-url-validation",
            "method": "POST",
            "url": url_for("zoom"),
            "headers": with_ct(hs_h),
            "body": ZOOM_VALIDATION_BODY.decode(),
            "expect": {"status": 200, "contentType": "application/json",
                       "body": json.dumps({"plainToken": ZOOM_PLAIN_TOKEN, "encryptedToken": encrypted},
                                          separators=(",", ":")),
                       "headers": {}},
            "source": "https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint; request signed "
                      "via conformance/sign.py; encryptedToken = hex HMAC-SHA256(secret, plainToken) computed by "
                      "generate.py with Python hmac",
        }
        return self.vector("zoom", hmac_only("no Zoom SDK signer"),
                           "synthetic, shaped after https://developers.zoom.us/docs/api/meetings/events/#tag/meeting/"
                           "POSTmeeting.started (event_ts = signing time in ms)", ZOOM_BODY, h1, h2,
                           handshakes=[handshake])

    def dropbox(self):
        h1, h2 = self.both("dropbox", "dropbox", DROPBOX_BODY)
        handshake = {
            "name": "dropbox-challenge",
            "method": "GET",
            "url": f"{url_for('dropbox')}?challenge={DROPBOX_CHALLENGE}",
            "headers": {},
            "body": "",
            "expect": {"status": 200, "contentType": "text/plain", "body": DROPBOX_CHALLENGE,
                       "headers": {"X-Content-Type-Options": "nosniff"}},
            "source": "https://www.dropbox.com/developers/reference/webhooks (verification request: echo the "
                      "challenge parameter, Content-Type text/plain, X-Content-Type-Options: nosniff)",
        }
        return self.vector("dropbox", hmac_only("no Dropbox SDK signer"),
                           "synthetic, shaped after https://www.dropbox.com/developers/reference/webhooks "
                           "(notification request)", DROPBOX_BODY, h1, h2, handshakes=[handshake])

    def asana(self):
        h1, h2 = self.both("asana", "asana", ASANA_BODY)
        hook_secret = make_secret("asana", 1)                 # == vector "secret": the handshake delivers the key
        handshake = {
            "name": "asana-hook-secret",
            "method": "POST",
            "url": url_for("asana"),
            "headers": {"X-Hook-Secret": hook_secret},
            "body": "",
            "expect": {"status": 200, "contentType": None, "body": "", "headers": {"X-Hook-Secret": hook_secret}},
            "source": "https://developers.asana.com/docs/webhooks-guide (handshake: echo X-Hook-Secret; it becomes "
                      "the X-Hook-Signature HMAC key)",
        }
        return self.vector("asana", hmac_only("no Asana SDK signer; key = the handshake's X-Hook-Secret"),
                           "synthetic, shaped after https://developers.asana.com/docs/webhooks-guide (events[] "
                           "delivery)", ASANA_BODY, h1, h2, handshakes=[handshake])

    def microsoft_graph(self):
        bodies = [GRAPH_BODY_TEMPLATE.replace("{SECRET}", make_secret("microsoft-graph", n)).encode() for n in (1, 2)]
        token = unquote(GRAPH_VALIDATION_QUERY)
        handshake = {
            "name": "graph-validation-token",
            "method": "POST",
            "url": f"{url_for('microsoft-graph')}?validationToken={GRAPH_VALIDATION_QUERY}",
            "headers": {"Content-Type": "text/plain"},
            "body": "",
            "expect": {"status": 200, "contentType": "text/plain", "body": token, "headers": {}},
            "source": "https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks"
                      "#notificationurl-validation (reply 200 text/plain with the URL-decoded validationToken within 10 s)",
        }
        # No signature: "clientState" (in the body) must equal the secret, so a rotated secret needs its own body.
        return self.vector("microsoft-graph", "no signature: clientState echoed in the body (written by generate.py; "
                                              "the conformance kit has no Microsoft Graph signer)",
                           "synthetic, shaped after https://learn.microsoft.com/en-us/graph/api/resources/"
                           "changenotificationcollection (clientState = the secret)",
                           bodies[0], {"Content-Type": JSON_CT}, {"Content-Type": JSON_CT}, handshakes=[handshake],
                           extra_rot={"body": bodies[1].decode()})


PROVIDERS = ["stripe", "github", "slack", "shopify", "standard-webhooks", "twilio", "hubspot", "zendesk", "intercom",
             "linear", "square", "paddle", "discord", "gitlab", "zoom", "dropbox", "asana", "microsoft-graph"]


def sources_md(payloads_dir: str, used: list[str]) -> str:
    """Copy, for exactly the files used, their table rows from the shared SOURCES.md."""
    rows: dict[str, str] = {}
    for line in open(os.path.join(payloads_dir, "SOURCES.md"), encoding="utf-8"):
        m = re.match(r"\| `([^`]+)` \|", line)
        if m:
            rows[m.group(1)] = line.rstrip("\n")
    out = ["# Payload fixtures - sources and licences", "",
           "Byte-exact copies of the example payloads the signed vectors in `../vectors/` use as bodies "
           "(written by `Tests/Vectors/generate.py`). The rows below are copied verbatim from the shared "
           "payload collection's SOURCES.md, for exactly the files in this folder.", ""]
    by_provider: dict[str, list[str]] = {}
    for rel in used:
        if rel not in rows:
            raise SystemExit(f"no SOURCES.md row for {rel}")
        by_provider.setdefault(rel.split("/", 1)[0], []).append(rows[rel])
    for prov, lines in by_provider.items():
        out += [f"## {prov}", "| file | source (repo@commit:path or URL) | license |", "|---|---|---|", *lines, ""]
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kit_dir", help="conformance signer kit (contains sign.py, requirements.txt)")
    p.add_argument("payloads_dir", help="shared example payloads (contains SOURCES.md and <provider>/ folders)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"fixtures dir (default {DEFAULT_OUT})")
    a = p.parse_args(argv)

    b = Builder(Kit(a.kit_dir), a.payloads_dir)
    vectors = {prov: getattr(b, prov.replace("-", "_"))() for prov in PROVIDERS}

    vec_dir = os.path.join(a.out, "vectors")
    pay_dir = os.path.join(a.out, "payloads")
    os.makedirs(vec_dir, exist_ok=True)
    for prov, v in vectors.items():
        with open(os.path.join(vec_dir, f"{prov}.json"), "w", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps(v, ensure_ascii=False, indent=2) + "\n")
    used = list(dict.fromkeys(b.used))
    for rel in used:
        dst = os.path.join(pay_dir, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(os.path.join(a.payloads_dir, rel), dst)
    with open(os.path.join(pay_dir, "SOURCES.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write(sources_md(a.payloads_dir, used))
    print(f"wrote {len(vectors)} vectors to {vec_dir} and {len(used)} payloads to {pay_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
