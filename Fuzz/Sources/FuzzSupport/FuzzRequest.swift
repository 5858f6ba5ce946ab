import TributaryProviders

/// A webhook delivery read from fuzz input, framed like an HTTP/1.1 request:
///
///     POST https://hooks.example.test/webhooks/stripe/c1
///     Stripe-Signature: t=1795000000,v1=…
///     X-Fuzz-Secret: whsec_…
///
///     {"id": …}
///
/// The request line and headers end at the first empty line; without one, the whole input is the
/// body of a POST. `X-Fuzz-Secret` headers are taken out and become the connection's secrets.
public struct FuzzRequest {
    public var request: WebhookRequest
    public var secrets: [String]

    public static let defaultURL = "https://hooks.example.test/webhooks/fuzz/c1"

    public init(_ bytes: [UInt8]) {
        guard let end = Self.headerEnd(bytes) else {
            request = WebhookRequest(method: "POST", url: Self.defaultURL, headers: [], body: bytes)
            secrets = ["fuzz-secret"]
            return
        }
        let head = String(decoding: bytes[..<end.head], as: UTF8.self)
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        var method = "POST"
        var url = Self.defaultURL
        if let first = lines.first, !first.contains(":") || first.hasPrefix("GET ") || first.hasPrefix("POST ") {
            let parts = first.split(separator: " ", maxSplits: 1)
            if let m = parts.first { method = String(m) }
            if parts.count > 1 { url = String(parts[1]) }
            lines.removeFirst()
        }
        var headers: [(name: String, value: String)] = []
        var secrets: [String] = []
        for line in lines {
            let kv = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(kv[0])
            let value = kv.count > 1 ? String(kv[1].drop { $0 == " " }) : ""
            if name.lowercased() == "x-fuzz-secret" { secrets.append(value) } else { headers.append((name, value)) }
        }
        request = WebhookRequest(method: method, url: url, headers: headers, body: Array(bytes[end.body...]))
        self.secrets = secrets.isEmpty ? ["fuzz-secret"] : secrets
    }

    /// Where the head ends (exclusive) and the body begins, after the first `\n\n` or `\r\n\r\n`.
    static func headerEnd(_ bytes: [UInt8]) -> (head: Int, body: Int)? {
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 10, bytes[i + 1] == 10 { return (i, i + 2) }
            if bytes[i] == 10, bytes[i + 1] == 13, i + 2 < bytes.count, bytes[i + 2] == 10 { return (i, i + 3) }
            i += 1
        }
        return nil
    }
}
