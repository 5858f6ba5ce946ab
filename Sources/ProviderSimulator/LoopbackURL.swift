/// A webhook target URL whose host is a loopback address literal.
///
/// The simulator runs on machines where any traffic beyond the loopback interface is
/// unwanted, so a target is accepted only when its host is an IPv4 literal in
/// 127.0.0.0/8 or the IPv6 literal `::1`. Names — even `localhost` — are refused:
/// what a name resolves to is decided later, by someone else, and the check must hold
/// before any connection is made.
public struct LoopbackURL: Sendable, Hashable {
    /// The URL as given.
    public let text: String
    /// The host literal, without brackets.
    public let host: String

    /// Parses and checks `text`.
    /// - Throws: ``SimulatorError/Code/webhookTargetNotLoopback`` for a host that is not a loopback literal,
    ///   ``SimulatorError/Code/invalidConfiguration`` for something that is not an `http(s)://` URL.
    public init(_ text: String) throws(SimulatorError) {
        func malformed(_ reason: String) -> SimulatorError {
            .configuration("webhooks.url", "\"\(text)\" \(reason)")
        }
        guard let schemeEnd = text.firstRange(of: "://") else { throw malformed("is not an absolute http:// URL") }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { throw malformed("must use http or https") }
        let rest = text[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.contains("@") else { throw malformed("must not carry user information") }
        let host: Substring
        let portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw malformed("has an unterminated IPv6 literal") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.isEmpty {
                portText = nil
            } else {
                guard after.hasPrefix(":") else { throw malformed("has text after the IPv6 literal") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
            portText = nil
        }
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port) else { throw malformed("has an invalid port") }
        }
        guard !host.isEmpty else { throw malformed("has no host") }
        guard Self.isLoopbackLiteral(String(host)) else {
            throw SimulatorError(
                .webhookTargetNotLoopback,
                "webhooks.url: \"\(text)\" is refused: the simulator only sends webhooks to loopback addresses "
                    + "(an IPv4 literal in 127.0.0.0/8 such as 127.0.0.1, or [::1]); names, including localhost, are not accepted"
            )
        }
        self.text = text
        self.host = String(host)
    }

    /// Whether `host` is an IPv4 literal in 127.0.0.0/8 or the IPv6 literal for `::1`.
    public static func isLoopbackLiteral(_ host: String) -> Bool {
        if let octets = ipv4(host) { return octets[0] == 127 }
        if let groups = ipv6(host) { return groups == [0, 0, 0, 0, 0, 0, 0, 1] }
        return false
    }

    /// Four dotted decimal octets, each 0...255 without leading zeros (the strict `inet_pton` form).
    static func ipv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCIIDigit),
                  part == "0" || !part.hasPrefix("0"), let value = UInt8(part) else { return nil }
            octets.append(value)
        }
        return octets
    }

    /// Eight 16-bit groups from RFC 4291 text form (with at most one `::`); no zone, no embedded IPv4.
    static func ipv6(_ text: String) -> [UInt16]? {
        func groups(_ part: Substring) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(group.count), let value = UInt16(group, radix: 16) else { return nil }
                out.append(value)
            }
            return out
        }
        if let gap = text.firstRange(of: "::") {
            guard let head = groups(text[..<gap.lowerBound]), let tail = groups(text[gap.upperBound...]),
                  !text[gap.upperBound...].contains("::"), head.count + tail.count <= 7 else { return nil }
            return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard let all = groups(text[...]), all.count == 8 else { return nil }
        return all
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
