import Crypto
import Foundation
@testable import TributaryCore
@testable import TributaryProviders

/// Signs a fuzzed request the way a provider would, so verification succeeds and what runs after it
/// (handshakes, event extraction) sees fuzzed bodies too.
public enum Signer {
    /// The raw key every signed request uses: HMAC key bytes, or the Ed25519 private key.
    static let key: [UInt8] = Array(0..<32)

    /// The connection secret, written as the manifest's `secretEncoding` expects.
    static func secret(for verification: ProviderManifest.Verification) -> String {
        let key: [UInt8]
        switch verification.algorithm {
        case .ed25519?: key = Array(try! Curve25519.Signing.PrivateKey(rawRepresentation: Self.key).publicKey.rawRepresentation)
        case .ecdsaP256?: key = Array(try! P256.Signing.PrivateKey(rawRepresentation: Self.key).publicKey.derRepresentation)
        default: key = Self.key
        }
        switch verification.scheme {
        case .template:
            switch verification.secretEncoding ?? .utf8 {
            case .utf8: return "fuzz-secret"
            case .whsecBase64: return "whsec_" + Data(key).base64EncodedString()
            case .hex: return key.map { String(format: "%02x", $0) }.joined()
            case .base64: return Data(key).base64EncodedString()
            }
        case .basicAuth:
            return "fuzz:secret"
        default:
            return "fuzz-secret"
        }
    }

    static func hmac(_ algorithm: ProviderManifest.Algorithm, _ key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        WebhookVerifier.hmac(algorithm, key: key, data: data)
    }

    /// `request` with the headers a provider would add to sign it, put first so they win over fuzzed
    /// ones of the same name; the secret to verify with; and the instant to verify at.
    /// `nil` when the scheme cannot be signed from outside the body (client-state), or the body holds
    /// the signed timestamp and it is unreadable.
    public static func sign(_ request: WebhookRequest, with verifier: WebhookVerifier) -> (request: WebhookRequest, secret: String, now: Int64)? {
        let v = verifier.verification
        let secret = secret(for: v)
        var signed = request
        var added: [(name: String, value: String)] = []
        var now = Fuzz.now
        switch v.scheme {
        case .template:
            guard let signature = v.signature else { return nil }
            var timestampText: String?
            var fieldPrefix: [String] = []
            if let spec = v.timestamp {
                switch spec.unit ?? .seconds {
                case .seconds: timestampText = String(now)
                case .milliseconds: timestampText = String(now * 1000)
                case .rfc3339: timestampText = Timestamp.rfc3339(microseconds: now * 1_000_000)
                }
                switch spec.source {
                case .header: added.append((spec.headers?.first ?? "X-Timestamp", timestampText!))
                case .signatureField: fieldPrefix.append("\(spec.field ?? "t")=\(timestampText!)")
                case .body:
                    guard case .success(let (text, seconds)) = verifier.readTimestamp(spec, request: request, signatureHeader: "") else { return nil }
                    timestampText = text
                    now = seconds
                }
            }
            var idText: String?
            if let id = v.id {
                idText = request.firstHeader(id.headers)?.value ?? "msg_fuzz"
                added.append((id.headers.first ?? "X-Id", idText!))
            }
            var payload: [UInt8] = []
            for part in verifier.payloadParts {
                switch part {
                case .literal(let bytes): payload += bytes
                case .body: payload += request.body
                case .timestamp: payload += Array(timestampText!.utf8)
                case .id: payload += Array(idText!.utf8)
                case .url: payload += Array(request.url.utf8)
                }
            }
            let algorithm = v.algorithm ?? .hmacSHA256
            let raw: [UInt8]
            switch algorithm {
            case .hmacSHA256, .hmacSHA1:
                raw = hmac(algorithm, WebhookVerifier.keyBytes(secret, encoding: v.secretEncoding ?? .utf8)!, payload)
            case .ed25519:
                raw = Array(try! Curve25519.Signing.PrivateKey(rawRepresentation: key).signature(for: payload))
            case .ecdsaP256:
                raw = Array(try! P256.Signing.PrivateKey(rawRepresentation: key).signature(for: payload).derRepresentation)
            }
            let encoded = (signature.encoding ?? .hex) == .hex ? raw.hexString : Data(raw).base64EncodedString()
            let value = (signature.prefix ?? "") + encoded
            let header: String
            switch signature.format ?? .plain {
            case .plain, .list: header = value
            case .fields: header = (fieldPrefix + ["\(signature.field ?? "v1")=\(value)"]).joined(separator: signature.separator ?? ",")
            }
            added.insert((signature.headers[0], header), at: 0)
        case .square:
            let mac = hmac(.hmacSHA256, Array(secret.utf8), Array(request.url.utf8) + request.body)
            added.append((v.signature?.headers.first ?? "x-square-hmacsha256-signature", Data(mac).base64EncodedString()))
        case .hubspotV3:
            let millis = String(now * 1000)
            let data = Array((request.method.uppercased() + request.url).utf8) + request.body + Array(millis.utf8)
            let mac = hmac(.hmacSHA256, Array(secret.utf8), data)
            added.append((v.signature?.headers.first ?? "X-HubSpot-Signature-v3", Data(mac).base64EncodedString()))
            added.append((v.timestamp?.headers?.first ?? "X-HubSpot-Request-Timestamp", millis))
        case .token:
            added.append((v.signature?.headers.first ?? "X-Gitlab-Token", secret))
        case .twilio:
            // Twilio's own rule, written out again: the URL, then every form parameter sorted. A body that is
            // not a form (and has no bodySHA256) is refused whatever its signature (issue 9), so none is made.
            guard request.isFormEncoded, request.queryParameter("bodySHA256") == nil else { return nil }
            let settings = request.header("X-Twilio-Webhooks-Signature-Settings")?.uppercased() ?? ""
            var data = Array(request.url.utf8)
            if request.isFormEncoded {
                var grouped: [String: Set<String>] = [:]
                for (name, value) in FormCoding.pairs(request.body) { grouped[name, default: []].insert(value) }
                for name in grouped.keys.sorted() {
                    for value in grouped[name]!.sorted() { data += Array((name + value).utf8) }
                }
            }
            let mac = hmac(settings.contains("HMAC_SHA256") ? .hmacSHA256 : .hmacSHA1, Array(secret.utf8), data)
            added.append((v.signature?.headers.first ?? "X-Twilio-Signature", Data(mac).base64EncodedString()))
        case .basicAuth:
            added.append(("Authorization", "Basic " + Data(secret.utf8).base64EncodedString()))
        case .clientState, .mailgun:
            // The signature is in the body (or there is none to make from outside it).
            return nil
        }
        signed.headers = added + request.headers
        return (signed, secret, now)
    }
}
