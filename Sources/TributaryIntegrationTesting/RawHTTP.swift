import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A bare TCP client for what well-behaved HTTP clients cannot do: send part of a body and stall.
public enum RawHTTP {
    /// Connects to 127.0.0.1:`port`, writes `bytes`, then reads until the server answers or closes.
    /// Runs on a dispatch thread so the blocking socket never holds a cooperative-pool thread.
    public static func sendAndRead(port: Int, bytes: [UInt8], readTimeoutSeconds: Int = 30) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try blockingExchange(port: port, bytes: bytes, readTimeoutSeconds: readTimeoutSeconds) })
            }
        }
    }

    struct SocketError: Error { var step: String }

    static func blockingExchange(port: Int, bytes: [UInt8], readTimeoutSeconds: Int) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError(step: "socket") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw SocketError(step: "connect") }
        var timeout = timeval(tv_sec: readTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == bytes.count else { throw SocketError(step: "send") }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            received += buffer[0..<n]
            if let text = String(validating: received, as: UTF8.self), text.contains("\r\n\r\n") { break }
        }
        return String(decoding: received, as: UTF8.self)
    }
}
