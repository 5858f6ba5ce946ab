import Crypto
import TributaryCore

/// A webhook delivery as the verifier sees it: raw bytes plus what the provider may have signed.
public struct WebhookRequest: Sendable {
    public var method: String
    /// The externally visible URL the provider called (scheme, host, path and query exactly as sent).
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, url: String, headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// The first value of a header, matched case-insensitively.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// The first of `names` that is present, with its value.
    public func firstHeader(_ names: [String]) -> (name: String, value: String)? {
        for name in names {
            if let value = header(name) { return (name, value) }
        }
        return nil
    }

    /// A query parameter of ``url``, percent-decoded (`+` stays literal, as in RFC 3986 queries).
    public func queryParameter(_ name: String) -> String? {
        guard let q = url.firstIndex(of: "?") else { return nil }
        for pair in url[url.index(after: q)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if FormCoding.percentDecode(parts[0], plusIsSpace: false) == name {
                return parts.count > 1 ? FormCoding.percentDecode(parts[1], plusIsSpace: false) : ""
            }
        }
        return nil
    }

    /// The body's SHA-256 in lowercase hex, over the bytes as received.
    public var bodySHA256: String { Array(SHA256.hash(data: body)).hexString }

    /// The SHA-256 (hex) of what the body says: the raw bytes, except that a form body is taken as its
    /// decoded name/value pairs in sorted order. Derived ids, the replay guard and quarantine ids use it.
    ///
    /// Why: Twilio signs the decoded, sorted parameters, not the bytes, so one captured callback could
    /// be replayed as `b=2&a=1`, `a=%31`, or with an extra `&`, each with new raw bytes and the same valid
    /// signature. All of those have one content digest. Each name and value is length-prefixed, so no
    /// two different pair lists hash the same text.
    public var contentSHA256: String {
        guard isFormEncoded else { return bodySHA256 }
        var canonical: [UInt8] = Array("form\n".utf8)
        for (name, value) in FormCoding.pairs(body).sorted(by: { ($0.name, $0.value) < ($1.name, $1.value) }) {
            canonical += Array("\(name.utf8.count):\(name)\(value.utf8.count):\(value)\n".utf8)
        }
        return Array(SHA256.hash(data: canonical)).hexString
    }

    /// Whether the body is `application/x-www-form-urlencoded`.
    public var isFormEncoded: Bool {
        header("Content-Type")?.lowercased().hasPrefix("application/x-www-form-urlencoded") ?? false
    }
}

/// `application/x-www-form-urlencoded` decoding, shared by Twilio's scheme and field extraction.
public enum FormCoding {
    /// Decodes a form body into ordered (name, value) pairs.
    public static func pairs(_ body: [UInt8]) -> [(name: String, value: String)] {
        let text = String(decoding: body, as: UTF8.self)
        return text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (percentDecode(parts[0], plusIsSpace: true), parts.count > 1 ? percentDecode(parts[1], plusIsSpace: true) : "")
        }
    }

    public static func percentDecode(_ s: Substring, plusIsSpace: Bool) -> String {
        var out = [UInt8]()
        out.reserveCapacity(s.utf8.count)
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%"), it.count >= 2, let h = hexDigit(it[it.startIndex]), let l = hexDigit(it[it.startIndex + 1]) {
                out.append(h << 4 | l)
                it = it.dropFirst(2)
            } else if b == UInt8(ascii: "+"), plusIsSpace {
                out.append(UInt8(ascii: " "))
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
