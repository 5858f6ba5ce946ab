import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization
import TributaryRuntime

/// An application's webhook endpoint on 127.0.0.1, for the delivery tests: `POST /hook` answered as
/// `plan` says for each request (by its number), every request kept in order of arrival.
public final class WebhookReceiver: Sendable {
    public enum Answer: Sendable {
        case status(Int, retryAfter: String? = nil, body: Int = 2)
        /// 200, after `seconds` (past a sender's timeout).
        case slow(Double)
    }

    /// One request as it arrived, with the status it was (or is being) answered with (0 until answered).
    public struct Received: Sendable {
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
        public var answered: Int

        public func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    }

    let plan: @Sendable (Int) -> Answer
    private let received = Mutex<[Received]>([])

    public init(plan: @escaping @Sendable (Int) -> Answer = { _ in .status(200) }) { self.plan = plan }

    public var requests: [Received] { received.withLock { $0 } }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/hook") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            let headers = request.headers.map { ($0.name.rawName, $0.value) }
            // Kept in order of arrival: a slow answer's request arrived before the retry after its timeout.
            let number = self.received.withLock { received in
                received.append(Received(headers: headers, body: Array(buffer: body), answered: 0))
                return received.count - 1
            }
            var status = 200
            var response = Response(status: .ok)
            switch self.plan(number) {
            case .status(let code, let retryAfter, let size):
                status = code
                var buffer = ByteBuffer()
                buffer.writeString(String(repeating: "x", count: size))
                response = Response(status: .init(code: code), body: .init(byteBuffer: buffer))
                if let retryAfter { response.headers[.retryAfter] = retryAfter }
            case .slow(let seconds):
                try await Task.sleep(for: .seconds(seconds))
            }
            self.received.withLock { $0[number].answered = status }
            return response
        }
        return router
    }

    /// Runs the receiver on an ephemeral loopback port for the length of `body`, given the port.
    public func run<T: Sendable>(_ body: @escaping @Sendable (Int) async throws -> T) async throws -> T {
        let (ports, port) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.yield(channel.localAddress?.port ?? 0) }, logger: Logger(label: "receiver") { _ in SwiftLogNoOpLogHandler() }
        )
        return try await RunningServices.run([app], ports: ports, logger: Logger(label: "receiver") { _ in SwiftLogNoOpLogHandler() }, body)
    }
}
