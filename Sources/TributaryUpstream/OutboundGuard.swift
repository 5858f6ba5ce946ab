import Foundation
import TributaryCore

/// Where outbound requests may go: the SSRF half of "upstream requests only go where the operator
/// pointed them" (DESIGN.md §3.9). The redirect half is ``UpstreamClient/send(_:priority:logger:)``.
///
/// Every address a host resolves to is checked before anything connects. A name that answers one
/// public and one private address is refused: the connection could land on either. Delivery (issue 15)
/// reuses this guard.
///
/// - Important: The check resolves the name, then AsyncHTTPClient resolves it again to connect. A
///   DNS server that answers differently within that gap (rebinding) is not stopped by this check;
///   pinning the checked address needs a resolver hook AsyncHTTPClient does not offer for TLS hosts.
public struct OutboundGuard: Sendable {
    /// Resolves a host name to its addresses (each as raw bytes: 4 for IPv4, 16 for IPv6).
    public typealias Resolver = @Sendable (_ host: String) async throws -> [[UInt8]]

    /// Whether private and loopback addresses may be reached (a self-hosted API, the simulator, tests).
    public var allowPrivate: Bool
    let resolve: Resolver

    /// - Parameters:
    ///   - allowPrivate: `--allow-private-upstreams` / `TRIBUTARY_ALLOW_PRIVATE_UPSTREAMS=1`.
    ///   - resolver: the system resolver unless a test injects one.
    public init(allowPrivate: Bool, resolver: Resolver? = nil) {
        self.allowPrivate = allowPrivate
        resolve = resolver ?? Self.systemResolve
    }

    /// What kind of place an address is.
    public enum AddressClass: String, Sendable, Equatable {
        case global, loopback, `private`, linkLocal = "link-local", unspecified, multicast, reserved
    }

    /// Refuses `url` unless its scheme is http(s) and every address of its host may be reached.
    /// - Throws: ``UpstreamError`` naming the host and the kind of address, before any connection.
    public func check(_ url: String) async throws(UpstreamError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let rawHost = components.host, !rawHost.isEmpty else {
            throw UpstreamError("refusing \(Self.redacted(url)): not an absolute http(s) URL", refused: true)
        }
        let host = rawHost.hasPrefix("[") && rawHost.hasSuffix("]") ? String(rawHost.dropFirst().dropLast()) : rawHost
        let addresses: [[UInt8]]
        if let literal = Self.literalAddress(host) {
            addresses = [literal]
        } else {
            do {
                addresses = try await resolve(host)
            } catch {
                throw UpstreamError("cannot resolve \(host): \(error)")
            }
        }
        guard !addresses.isEmpty else { throw UpstreamError("cannot resolve \(host): no addresses") }
        for address in addresses {
            let kind = Self.classify(address)
            if !permits(kind) {
                let what = Self.literalAddress(host) != nil ? "it is" : "it resolves to \(Self.format(address)),"
                throw UpstreamError("refusing to connect to \(host): \(what) a \(kind.rawValue) address"
                    + (kind == .private || kind == .loopback ? " (allow with --allow-private-upstreams or TRIBUTARY_ALLOW_PRIVATE_UPSTREAMS=1)" : ""), refused: true)
            }
        }
    }

    func permits(_ kind: AddressClass) -> Bool {
        switch kind {
        case .global: return true
        case .private, .loopback: return allowPrivate
        case .linkLocal, .unspecified, .multicast, .reserved: return false
        }
    }

    /// The class of an IPv4 (4 bytes) or IPv6 (16 bytes) address; IPv4-mapped and NAT64 IPv6 addresses
    /// are judged by the IPv4 address they carry.
    public static func classify(_ a: [UInt8]) -> AddressClass {
        if a.count == 4 {
            switch (a[0], a[1]) {
            case (0, _): return .unspecified
            case (10, _), (172, 16...31), (192, 168), (100, 64...127), (198, 18...19): return .private
            case (127, _): return .loopback
            case (169, 254): return .linkLocal
            case (224...239, _): return .multicast
            case (240...255, _): return .reserved
            case (192, 0) where a[2] == 0 || a[2] == 2, (198, 51) where a[2] == 100, (203, 0) where a[2] == 113: return .reserved
            default: return .global
            }
        }
        guard a.count == 16 else { return .reserved }
        if a.allSatisfy({ $0 == 0 }) { return .unspecified }
        if a[0..<15].allSatisfy({ $0 == 0 }) && a[15] == 1 { return .loopback }
        if a[0..<10].allSatisfy({ $0 == 0 }) && a[10] == 0xff && a[11] == 0xff { return classify(Array(a[12..<16])) }
        if a[0..<12] == [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0] { return classify(Array(a[12..<16])) }
        if a[0..<12].allSatisfy({ $0 == 0 }) { return classify(Array(a[12..<16])) }  // IPv4-compatible (deprecated)
        if a[0] == 0xff { return .multicast }
        if a[0] == 0xfe && a[1] & 0xc0 == 0x80 { return .linkLocal }
        if a[0] == 0xfe && a[1] & 0xc0 == 0xc0 { return .private }  // site-local (deprecated)
        if a[0] & 0xfe == 0xfc { return .private }  // unique local
        if a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8 { return .reserved }  // documentation
        return .global
    }

    /// The bytes of an IP literal, or `nil` when `host` is a name. Besides the dotted and IPv6 forms,
    /// the IPv4 forms `inet_aton` (and so the resolver) also reads count as literals (`2852039166`,
    /// `0xA9FEA9FE`, `169.254.43518`, octal parts), and an IPv6 zone (`fe80::1%eth0`) is dropped: it
    /// names an interface, not another address.
    public static func literalAddress(_ host: String) -> [UInt8]? {
        let host = host.firstIndex(of: "%").map { String(host[..<$0]) } ?? host
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        if !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == "x" || $0 == "X" }), inet_aton(host, &v4) != 0 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        return nil
    }

    static func format(_ a: [UInt8]) -> String {
        if a.count == 4 { return a.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: a.count, by: 2).map { String(UInt16(a[$0]) << 8 | UInt16(a[$0 + 1]), radix: 16) }.joined(separator: ":")
    }

    /// A URL for an error message: no query (it may hold a token) and no user info.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "a malformed URL" }
        components.query = nil
        components.user = nil
        components.password = nil
        return components.string ?? "a malformed URL"
    }

    /// `getaddrinfo` on a thread of its own, since it blocks (the cooperative pool has two threads here).
    static let systemResolve: Resolver = { host in
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var result: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(host, nil, &hints, &result)
                guard status == 0 else {
                    continuation.resume(throwing: UpstreamError(String(cString: gai_strerror(status))))
                    return
                }
                defer { freeaddrinfo(result) }
                var addresses: [[UInt8]] = []
                var next = result
                while let info = next {
                    if let address = info.pointee.ai_addr {
                        switch Int32(info.pointee.ai_family) {
                        case AF_INET:
                            address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                                var addr = sin.pointee.sin_addr
                                addresses.append(withUnsafeBytes(of: &addr) { Array($0) })
                            }
                        case AF_INET6:
                            address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                                var addr = sin6.pointee.sin6_addr
                                addresses.append(withUnsafeBytes(of: &addr) { Array($0) })
                            }
                        default: break
                        }
                    }
                    next = info.pointee.ai_next
                }
                continuation.resume(returning: addresses)
            }
        }
    }
}
