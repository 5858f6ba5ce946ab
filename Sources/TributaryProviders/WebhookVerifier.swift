import Crypto
import Foundation
import TributaryCore

/// Why a delivery was refused. Logged with the connection; never sent to the caller (intake answers a bare 401).
public enum VerificationFailure: Error, Sendable, Equatable, CustomStringConvertible {
    case missingSignature
    case missingTimestamp
    case malformedTimestamp
    case staleTimestamp(skewSeconds: Int64)
    case noMatchingSignature
    case noSecrets
    case unsignedBody
    case malformedSignature

    public var description: String {
        switch self {
        case .missingSignature: return "signature header missing"
        case .missingTimestamp: return "signed timestamp missing"
        case .malformedTimestamp: return "signed timestamp unreadable"
        case .staleTimestamp(let skew): return "signed timestamp outside tolerance (\(skew) s away)"
        case .noMatchingSignature: return "no signature matches any active secret"
        case .noSecrets: return "connection has no active webhook secret"
        case .unsignedBody: return "the scheme would not cover this body (Twilio: neither a form nor bodySHA256)"
        case .malformedSignature: return "signature present but unreadable (not the scheme's encoding or form)"
        }
    }
}

/// A successful verification: which of the connection's secrets matched.
public struct Verified: Sendable, Equatable {
    public var secretIndex: Int

    public init(secretIndex: Int) {
        self.secretIndex = secretIndex
    }
}

/// Verifies a delivery against a manifest's scheme, on the raw bytes, before anything is parsed.
///
/// Every comparison of a computed signature with a presented one is constant-time.
/// A connection may hold several secrets at once (rotation); each is tried against
/// each signature the request carries.
public struct WebhookVerifier: Sendable {
    public let verification: ProviderManifest.Verification
    let payloadParts: [TemplatePart]
    let timestampPointer: JSONPointer?
    let clientStatePointer: JSONPointer?
    /// Mailgun: the `token` and `signature` beside the signed timestamp, in the same body object.
    let mailgunPointers: (token: JSONPointer, signature: JSONPointer)?

    enum TemplatePart: Sendable, Equatable {
        case literal([UInt8]), body, timestamp, id, url
    }

    /// Default replay window where a manifest names none.
    public static let defaultTolerance = 300

    public init(_ verification: ProviderManifest.Verification) throws(ManifestError) {
        self.verification = verification
        payloadParts = try Self.parseTemplate(verification.signedPayload ?? "{body}")
        if payloadParts.contains(.timestamp), verification.timestamp == nil {
            throw ManifestError(path: "/webhooks/verification/signedPayload", reason: "uses {timestamp} but verification.timestamp is not set")
        }
        if payloadParts.contains(.id), verification.id == nil {
            throw ManifestError(path: "/webhooks/verification/signedPayload", reason: "uses {id} but verification.id is not set")
        }
        if verification.scheme == .template, verification.signature == nil {
            throw ManifestError(path: "/webhooks/verification/signature", reason: "the template scheme needs a signature section")
        }
        if let pointer = verification.timestamp?.pointer {
            guard let parsed = JSONPointer(pointer) else { throw ManifestError(path: "/webhooks/verification/timestamp/pointer", reason: "not a JSON Pointer") }
            timestampPointer = parsed
        } else {
            timestampPointer = nil
        }
        if let pointer = verification.clientState?.pointer {
            guard let parsed = JSONPointer(pointer) else { throw ManifestError(path: "/webhooks/verification/clientState/pointer", reason: "not a JSON Pointer") }
            clientStatePointer = parsed
        } else {
            clientStatePointer = nil
        }
        if verification.scheme == .mailgun {
            guard let spec = verification.timestamp, spec.source == .body, let pointer = spec.pointer,
                  let slash = pointer.lastIndex(of: "/")
            else { throw ManifestError(path: "/webhooks/verification/timestamp", reason: "the mailgun scheme needs a body timestamp pointer such as /signature/timestamp") }
            let parent = String(pointer[..<slash])
            guard let token = JSONPointer(parent + "/token"), let signature = JSONPointer(parent + "/signature") else {
                throw ManifestError(path: "/webhooks/verification/timestamp/pointer", reason: "not a JSON Pointer")
            }
            mailgunPointers = (token, signature)
        } else {
            mailgunPointers = nil
        }
    }

    static func parseTemplate(_ template: String) throws(ManifestError) -> [TemplatePart] {
        var parts: [TemplatePart] = []
        var literal: [UInt8] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            literal += Array(rest[..<open].utf8)
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw ManifestError(path: "/webhooks/verification/signedPayload", reason: "unclosed '{'")
            }
            let name = rest[rest.index(after: open)..<close]
            let part: TemplatePart
            switch name {
            case "body": part = .body
            case "timestamp": part = .timestamp
            case "id": part = .id
            case "url": part = .url
            default: throw ManifestError(path: "/webhooks/verification/signedPayload", reason: "unknown placeholder {\(name)}")
            }
            if !literal.isEmpty { parts.append(.literal(literal)); literal = [] }
            parts.append(part)
            rest = rest[rest.index(after: close)...]
        }
        literal += Array(rest.utf8)
        if !literal.isEmpty { parts.append(.literal(literal)) }
        return parts
    }

    /// Checks `request` against `secrets`.
    /// - Parameters:
    ///   - now: the current time in Unix seconds (injected so tests control it).
    ///   - tolerance: the connection's replay window override, in seconds.
    public func verify(_ request: WebhookRequest, secrets: [String], now: Int64, tolerance: Int? = nil) -> Result<Verified, VerificationFailure> {
        guard !secrets.isEmpty else { return .failure(.noSecrets) }
        switch verification.scheme {
        case .template: return verifyTemplate(request, secrets: secrets, now: now, tolerance: tolerance)
        case .twilio: return verifyTwilio(request, secrets: secrets)
        case .square: return verifySquare(request, secrets: secrets)
        case .hubspotV3: return verifyHubSpotV3(request, secrets: secrets, now: now, tolerance: tolerance)
        case .token: return verifyToken(request, secrets: secrets)
        case .clientState: return verifyClientState(request, secrets: secrets)
        case .mailgun: return verifyMailgun(request, secrets: secrets, now: now, tolerance: tolerance)
        case .basicAuth: return verifyBasicAuth(request, secrets: secrets)
        }
    }

    // MARK: template

    func verifyTemplate(_ request: WebhookRequest, secrets: [String], now: Int64, tolerance: Int?) -> Result<Verified, VerificationFailure> {
        guard let signature = verification.signature, let header = request.firstHeader(signature.headers)?.value else {
            return .failure(.missingSignature)
        }
        let candidates = Self.signatures(in: header, spec: signature)
        guard !candidates.isEmpty else { return .failure(.missingSignature) }

        var timestampText: String?
        if let spec = verification.timestamp {
            switch readTimestamp(spec, request: request, signatureHeader: header) {
            case .failure(let failure): return .failure(failure)
            case .success(let (text, seconds)):
                let window = Int64(tolerance ?? spec.tolerance ?? Self.defaultTolerance)
                let skew = now - seconds
                guard abs(skew) <= window else { return .failure(.staleTimestamp(skewSeconds: skew)) }
                timestampText = text
            }
        }
        let idText = verification.id.flatMap { request.firstHeader($0.headers)?.value }
        var payload: [UInt8] = []
        payload.reserveCapacity(request.body.count + 64)
        for part in payloadParts {
            switch part {
            case .literal(let bytes): payload += bytes
            case .body: payload += request.body
            case .timestamp:
                guard let timestampText else { return .failure(.missingTimestamp) }
                payload += Array(timestampText.utf8)
            case .id:
                guard let idText else { return .failure(.missingSignature) }
                payload += Array(idText.utf8)
            case .url: payload += Array(request.url.utf8)
            }
        }
        let algorithm = verification.algorithm ?? .hmacSHA256
        for (index, secret) in secrets.enumerated() {
            guard let key = Self.keyBytes(secret, encoding: verification.secretEncoding ?? .utf8) else { continue }
            switch algorithm {
            case .hmacSHA256, .hmacSHA1:
                let mac = Self.hmac(algorithm, key: key, data: payload)
                if candidates.contains(where: { constantTimeEquals($0, mac) }) { return .success(Verified(secretIndex: index)) }
            case .ed25519:
                guard let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: key) else { continue }
                if candidates.contains(where: { publicKey.isValidSignature($0, for: payload) }) { return .success(Verified(secretIndex: index)) }
            case .ecdsaP256:
                guard let publicKey = try? P256.Signing.PublicKey(derRepresentation: key) else { continue }
                let valid = candidates.contains { der in
                    (try? P256.Signing.ECDSASignature(derRepresentation: der)).map { publicKey.isValidSignature($0, for: payload) } ?? false
                }
                if valid { return .success(Verified(secretIndex: index)) }
            }
        }
        return .failure(.noMatchingSignature)
    }

    /// The decoded signatures a header carries, per the manifest's format; undecodable entries are dropped.
    static func signatures(in header: String, spec: ProviderManifest.Signature) -> [[UInt8]] {
        let encoding = spec.encoding ?? .hex
        let prefix = spec.prefix ?? ""
        let raw: [Substring]
        switch spec.format ?? .plain {
        case .plain:
            let trimmed = Substring(header.trimmingCharacters(in: .whitespaces))
            raw = trimmed.hasPrefix(prefix) ? [trimmed.dropFirst(prefix.count)] : []
        case .list:
            raw = header.split(separator: spec.separator ?? " ").compactMap { entry in
                let e = entry.trimmingCharacters(in: .whitespaces)
                return e.hasPrefix(prefix) ? Substring(e).dropFirst(prefix.count) : nil
            }
        case .fields:
            raw = header.split(separator: spec.separator ?? ",").compactMap { pair in
                let kv = pair.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces) == spec.field else { return nil }
                let value = Substring(kv[1].trimmingCharacters(in: .whitespaces))
                return value.hasPrefix(prefix) ? value.dropFirst(prefix.count) : nil
            }
        }
        return raw.compactMap { decode(String($0), encoding) }
    }

    static func decode(_ text: String, _ encoding: ProviderManifest.Signature.Encoding) -> [UInt8]? {
        switch encoding {
        case .hex: return hexBytes(text)
        case .base64: return Data(base64Encoded: text).map { Array($0) }
        }
    }

    func readTimestamp(_ spec: ProviderManifest.TimestampSpec, request: WebhookRequest, signatureHeader: String) -> Result<(String, Int64), VerificationFailure> {
        let text: String?
        switch spec.source {
        case .header:
            text = request.firstHeader(spec.headers ?? []).map(\.value)
        case .signatureField:
            text = signatureHeader.split(separator: verification.signature?.separator ?? ",").lazy.compactMap { pair -> String? in
                let kv = pair.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces) == spec.field else { return nil }
                return kv[1].trimmingCharacters(in: .whitespaces)
            }.first
        case .body:
            text = timestampPointer.flatMap { pointer in
                JSONValue(parsing: request.body).flatMap { pointer.resolve(in: $0)?.stringValue }
            }
        }
        guard let text, !text.isEmpty else { return .failure(.missingTimestamp) }
        guard let seconds = Self.seconds(text, unit: spec.unit ?? .seconds) else { return .failure(.malformedTimestamp) }
        return .success((text, seconds))
    }

    /// A signed timestamp in Unix seconds; `nil` when unreadable or outside years 1970–5138, so that
    /// no arithmetic on an attacker's value can overflow (this runs before the signature is checked).
    static func seconds(_ text: String, unit: ProviderManifest.TimestampSpec.Unit) -> Int64? {
        let value: Int64?
        switch unit {
        case .seconds: value = Int64(text)
        case .milliseconds: value = Int64(text).map { $0 / 1000 }
        case .rfc3339: value = Timestamp.microseconds(rfc3339: text).map { $0 / 1_000_000 }
        }
        guard let value, (0...100_000_000_000).contains(value) else { return nil }
        return value
    }

    // MARK: named schemes

    /// Twilio: HMAC over the full URL, then (form bodies) every parameter sorted by name as `name+value`;
    /// JSON bodies carry `bodySHA256` in the URL instead. SHA-1 unless a SharedKey rule says SHA-256.
    func verifyTwilio(_ request: WebhookRequest, secrets: [String]) -> Result<Verified, VerificationFailure> {
        guard let header = request.firstHeader(verification.signature?.headers ?? ["X-Twilio-Signature"])?.value,
              let presented = Data(base64Encoded: header.trimmingCharacters(in: .whitespaces)).map({ Array($0) })
        else { return .failure(.missingSignature) }
        let settings = request.header("X-Twilio-Webhooks-Signature-Settings")?.uppercased() ?? ""
        let algorithm: ProviderManifest.Algorithm = settings.contains("HMAC_SHA256") ? .hmacSHA256 : .hmacSHA1

        var suffix: [UInt8] = []
        if let bodyHash = request.queryParameter("bodySHA256") {
            let actual = SHA256.hash(data: request.body).hexString
            guard constantTimeEquals(Array(bodyHash.lowercased().utf8), Array(actual.utf8)) else { return .failure(.noMatchingSignature) }
        } else if request.isFormEncoded {
            var grouped: [String: Set<String>] = [:]
            for (name, value) in FormCoding.pairs(request.body) { grouped[name, default: []].insert(value) }
            for name in grouped.keys.sorted() {
                for value in grouped[name]!.sorted() { suffix += Array((name + value).utf8) }
            }
        } else {
            // Neither a form nor a body hash: the signature would cover the URL alone, and the body
            // (which intake goes on to trust) would be anyone's.
            return .failure(.unsignedBody)
        }
        for (index, secret) in secrets.enumerated() where !secret.isEmpty {
            for url in Self.portVariants(request.url) {
                let mac = Self.hmac(algorithm, key: Array(secret.utf8), data: Array(url.utf8) + suffix)
                if constantTimeEquals(mac, presented) { return .success(Verified(secretIndex: index)) }
            }
        }
        return .failure(.noMatchingSignature)
    }

    /// The URL as given, and with its default port added or removed — Twilio's SDK accepts either.
    static func portVariants(_ url: String) -> [String] {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else { return [url] }
        let defaultPort = scheme == "https" ? 443 : 80
        var other = components
        if components.port == nil {
            other.port = defaultPort
        } else if components.port == defaultPort {
            other.port = nil
        } else {
            return [url]
        }
        return [url, other.string].compactMap { $0 }
    }

    /// Square: base64 HMAC-SHA256 of the notification URL followed by the raw body.
    func verifySquare(_ request: WebhookRequest, secrets: [String]) -> Result<Verified, VerificationFailure> {
        guard let header = request.firstHeader(verification.signature?.headers ?? ["x-square-hmacsha256-signature"])?.value,
              let presented = Data(base64Encoded: header.trimmingCharacters(in: .whitespaces)).map({ Array($0) })
        else { return .failure(.missingSignature) }
        let data = Array(request.url.utf8) + request.body
        for (index, secret) in secrets.enumerated() where !secret.isEmpty && constantTimeEquals(Self.hmac(.hmacSHA256, key: Array(secret.utf8), data: data), presented) {
            return .success(Verified(secretIndex: index))
        }
        return .failure(.noMatchingSignature)
    }

    /// HubSpot v3: base64 HMAC-SHA256 of method + URI + body + timestamp (milliseconds), with a replay window.
    func verifyHubSpotV3(_ request: WebhookRequest, secrets: [String], now: Int64, tolerance: Int?) -> Result<Verified, VerificationFailure> {
        guard let header = request.firstHeader(verification.signature?.headers ?? ["X-HubSpot-Signature-v3"])?.value,
              let presented = Data(base64Encoded: header.trimmingCharacters(in: .whitespaces)).map({ Array($0) })
        else { return .failure(.missingSignature) }
        let spec = verification.timestamp
        guard let timestamp = request.firstHeader(spec?.headers ?? ["X-HubSpot-Request-Timestamp"])?.value else { return .failure(.missingTimestamp) }
        guard let millis = Int64(timestamp), (0...100_000_000_000_000).contains(millis) else { return .failure(.malformedTimestamp) }
        let skew = now - millis / 1000
        guard abs(skew) <= Int64(tolerance ?? spec?.tolerance ?? Self.defaultTolerance) else { return .failure(.staleTimestamp(skewSeconds: skew)) }
        let data = Array((request.method.uppercased() + request.url).utf8) + request.body + Array(timestamp.utf8)
        for (index, secret) in secrets.enumerated() where !secret.isEmpty && constantTimeEquals(Self.hmac(.hmacSHA256, key: Array(secret.utf8), data: data), presented) {
            return .success(Verified(secretIndex: index))
        }
        return .failure(.noMatchingSignature)
    }

    /// GitLab: the header carries the shared token itself.
    func verifyToken(_ request: WebhookRequest, secrets: [String]) -> Result<Verified, VerificationFailure> {
        guard let header = request.firstHeader(verification.signature?.headers ?? ["X-Gitlab-Token"])?.value else { return .failure(.missingSignature) }
        let presented = Array(header.utf8)
        for (index, secret) in secrets.enumerated() where !secret.isEmpty && constantTimeEquals(Array(secret.utf8), presented) {
            return .success(Verified(secretIndex: index))
        }
        return .failure(.noMatchingSignature)
    }

    /// Microsoft Graph: no signature; every notification in the batch must echo a known `clientState`.
    func verifyClientState(_ request: WebhookRequest, secrets: [String]) -> Result<Verified, VerificationFailure> {
        guard let pointer = clientStatePointer, let json = JSONValue(parsing: request.body) else { return .failure(.missingSignature) }
        let states = pointer.all(in: json)
        guard !states.isEmpty else { return .failure(.missingSignature) }
        var matched: Int?
        for state in states {
            guard let text = state.stringValue else { return .failure(.noMatchingSignature) }
            guard !text.isEmpty, let index = secrets.firstIndex(where: { !$0.isEmpty && constantTimeEquals(Array($0.utf8), Array(text.utf8)) }) else {
                return .failure(.noMatchingSignature)
            }
            matched = matched ?? index
        }
        return .success(Verified(secretIndex: matched ?? 0))
    }

    /// Mailgun: hex HMAC-SHA256 of the body's `timestamp` followed by its `token`, all three in one body object.
    ///
    /// - Important: the body itself is not signed, so a captured signature object fits any body within the
    ///   freshness window. The manifest keys events by the token, which makes every token single-use: a
    ///   second body with a seen token is a duplicate of the first and is not stored.
    func verifyMailgun(_ request: WebhookRequest, secrets: [String], now: Int64, tolerance: Int?) -> Result<Verified, VerificationFailure> {
        guard let spec = verification.timestamp, let pointers = mailgunPointers else { return .failure(.missingSignature) }
        guard let json = JSONValue(parsing: request.body), let signatureValue = pointers.signature.resolve(in: json) else {
            return .failure(.missingSignature)
        }
        guard let signatureText = signatureValue.stringValue, let presented = hexBytes(signatureText), presented.count == 32 else {
            return .failure(.malformedSignature)
        }
        guard let token = pointers.token.resolve(in: json)?.stringValue, !token.isEmpty else { return .failure(.malformedSignature) }
        let timestampText: String
        switch readTimestamp(spec, request: request, signatureHeader: "") {
        case .failure(let failure): return .failure(failure)
        case .success(let (text, seconds)):
            let skew = now - seconds
            guard abs(skew) <= Int64(tolerance ?? spec.tolerance ?? Self.defaultTolerance) else { return .failure(.staleTimestamp(skewSeconds: skew)) }
            timestampText = text
        }
        let data = Array((timestampText + token).utf8)
        for (index, secret) in secrets.enumerated() where !secret.isEmpty && constantTimeEquals(Self.hmac(.hmacSHA256, key: Array(secret.utf8), data: data), presented) {
            return .success(Verified(secretIndex: index))
        }
        return .failure(.noMatchingSignature)
    }

    /// Basic auth (Postmark, Chargebee): `Authorization: Basic base64(user:password)` must carry a secret's
    /// `user:password` exactly. It proves who sent the request, not what it says: nothing covers the body.
    func verifyBasicAuth(_ request: WebhookRequest, secrets: [String]) -> Result<Verified, VerificationFailure> {
        guard let header = request.firstHeader(verification.signature?.headers ?? ["Authorization"])?.value else { return .failure(.missingSignature) }
        let parts = header.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let presented = Data(base64Encoded: parts[1].trimmingCharacters(in: .whitespaces)).map({ Array($0) }), !presented.isEmpty
        else { return .failure(.malformedSignature) }
        for (index, secret) in secrets.enumerated() where !secret.isEmpty && constantTimeEquals(Array(secret.utf8), presented) {
            return .success(Verified(secretIndex: index))
        }
        return .failure(.noMatchingSignature)
    }

    // MARK: primitives

    static func hmac(_ algorithm: ProviderManifest.Algorithm, key: [UInt8], data: [UInt8]) -> [UInt8] {
        let symmetric = SymmetricKey(data: key)
        switch algorithm {
        case .hmacSHA1: return Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: symmetric))
        default: return Array(HMAC<SHA256>.authenticationCode(for: data, using: symmetric))
        }
    }

    /// The key bytes of `secret`; `nil` when it does not decode or decodes to nothing, since an HMAC
    /// with an empty key is one anybody can compute (`whsec_` alone once verified a forgery).
    static func keyBytes(_ secret: String, encoding: ProviderManifest.SecretEncoding) -> [UInt8]? {
        guard let key = decodedKey(secret, encoding: encoding), !key.isEmpty else { return nil }
        return key
    }

    /// Why `secret` cannot serve as a key for this verification, or `nil` when it can: for
    /// `connections add` and `rotate-secret`, which refuse such a secret instead of storing one
    /// that can never verify (or, empty, would verify anything).
    public func secretProblem(_ secret: String) -> String? {
        if verification.scheme == .basicAuth {
            guard !secret.isEmpty else { return "is empty" }
            guard let colon = secret.firstIndex(of: ":"), colon != secret.startIndex else { return "is not user:password (the Basic credentials the provider sends)" }
            return nil
        }
        guard verification.scheme == .template else { return secret.isEmpty ? "is empty" : nil }
        let encoding = verification.secretEncoding ?? .utf8
        guard let key = Self.decodedKey(secret, encoding: encoding) else { return "is not valid \(encoding.rawValue)" }
        guard !key.isEmpty else { return "decodes to an empty key" }
        if verification.algorithm == .ed25519, key.count != 32 { return "is not a 32-byte Ed25519 public key (\(key.count) bytes)" }
        if verification.algorithm == .ecdsaP256, (try? P256.Signing.PublicKey(derRepresentation: key)) == nil {
            return "is not a P-256 public key in SubjectPublicKeyInfo DER form"
        }
        return nil
    }

    static func decodedKey(_ secret: String, encoding: ProviderManifest.SecretEncoding) -> [UInt8]? {
        switch encoding {
        case .utf8: return Array(secret.utf8)
        case .whsecBase64:
            let body = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
            return Data(base64Encoded: body).map { Array($0) }
        case .hex: return hexBytes(secret)
        case .base64: return Data(base64Encoded: secret).map { Array($0) }
        }
    }
}

extension SHA256.Digest {
    var hexString: String { Array(self).hexString }
}
