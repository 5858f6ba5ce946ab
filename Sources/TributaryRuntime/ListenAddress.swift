import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Checks, before anything lasting is created (the database, its key, the admin token), that
/// `serve` can listen where it is told: the host resolves and the port can be bound.
///
/// The check binds and closes a socket of its own; the server binds again a moment later (with
/// `SO_REUSEADDR`, as NIO does), so a port taken in between still fails there, with the same sentence.
public enum ListenAddress {
    /// - Throws: `.usage` when `host` is not an address or a name this machine resolves;
    ///   `.failure` naming the address and the cause when it cannot be bound (in use, not local, no permission).
    public static func check(host: String, port: Int) throws(OperationError) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        // What looks like an address literal is read as one, never looked up by name (no DNS query for `999.1.1.1`).
        if host.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) || host.contains(":") { hints.ai_flags |= AI_NUMERICHOST }
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &found)
        guard status == 0, let first = found else {
            throw .usage("--host \(host) is not an address or a name this machine can resolve (\(String(cString: gai_strerror(status))))")
        }
        defer { freeaddrinfo(found) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { throw .failure(sentence(host, port, errno)) }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else { throw .failure(sentence(host, port, errno)) }
    }

    /// "cannot listen on HOST:PORT: CAUSE", with a hint for the usual causes.
    public static func sentence(_ host: String, _ port: Int, _ code: Int32) -> String {
        let cause: String
        switch code {
        case EADDRINUSE: cause = "the address is already in use (another process listens there; choose another --port)"
        case EADDRNOTAVAIL: cause = "the address is not one of this machine's"
        case EACCES: cause = "permission denied (ports below 1024 need privileges)"
        default: cause = String(cString: strerror(code))
        }
        return "cannot listen on \(host):\(port): \(cause)"
    }
}
