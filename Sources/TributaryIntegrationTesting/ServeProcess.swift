import Foundation
import TributaryTesting
import Synchronization

/// A real `tributary serve` child process, for crash tests and end-to-end checks.
public final class ServeProcess: Sendable {
    private let process: Process
    private let announcement: PortAnnouncement
    public let port: Int

    public var pid: Int32 { process.processIdentifier }

    /// What the process printed on stdout so far (at least everything up to the line announcing its port).
    public var output: String { announcement.text }

    private init(process: Process, announcement: PortAnnouncement, port: Int) {
        self.process = process
        self.announcement = announcement
        self.port = port
    }

    /// Starts `tributary serve --port 0` on `database` and waits for the line announcing its port.
    /// - Parameter environment: variables to set (or, with `nil`, to remove) on top of the test's environment.
    /// - Throws: if the process exits, or prints no port within `timeout`.
    public static func start(
        database: String, masterKey: String, environment: [String: String?] = [:], timeout: Duration = .seconds(60)
    ) async throws -> ServeProcess {
        let process = TestPaths.tributaryProcess(["serve", "--port", "0", "--db", database, "--providers", TestPaths.providers], masterKey: masterKey)
        for (name, value) in environment { process.environment?[name] = value }
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice

        let announced = PortAnnouncement()
        // A blocking read loop on its own thread, not `readabilityHandler`: tearing a handler's dispatch read
        // source down at EOF races libdispatch's epoll bookkeeping on Linux (swift-corelibs-libdispatch#949) and
        // crashed the test process with SIGSEGV in `_dispatch_event_loop_drain` after a `kill -9` of the child.
        let reader = stdout.fileHandleForReading
        let thread = Thread {
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                announced.append(data)
            }
            announced.finish(nil)
        }
        thread.name = "serve-stdout"
        process.terminationHandler = { _ in announced.finish(nil) }
        try process.run()
        thread.start()
        let port = try await withThrowingTaskGroup(of: Int?.self) { group in
            group.addTask { await announced.port() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let port else {
            process.terminate()
            throw ServeError(message: "tributary serve did not announce a port (binary \(TestPaths.tributaryBinary))")
        }
        return ServeProcess(process: process, announcement: announced, port: port)
    }

    /// Sends `signal` to the process.
    public func kill(_ signal: Int32) {
        _ = Foundation.kill(process.processIdentifier, signal)
    }

    /// Waits for the process to exit; returns its status.
    public func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                self.process.waitUntilExit()
                continuation.resume(returning: self.process.terminationStatus)
            }
        }
    }

    public struct ServeError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        public init(message: String) { self.message = message }
    }
}

/// Collects stdout until `tributary listening on http://HOST:PORT` appears.
private final class PortAnnouncement: Sendable {
    private struct State {
        var buffer = ""
        var port: Int?
        var finished = false
        var waiters: [CheckedContinuation<Int?, Never>] = []
    }
    private let state = Mutex(State())

    var text: String { state.withLock { $0.buffer } }

    func append(_ data: Data) {
        let waiters = state.withLock { state -> [CheckedContinuation<Int?, Never>] in
            state.buffer += String(decoding: data, as: UTF8.self)
            guard state.port == nil else { return [] }
            guard let line = state.buffer.split(separator: "\n").first(where: { $0.contains("listening on") }),
                  let port = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else { return [] }
            state.port = port
            defer { state.waiters = [] }
            return state.waiters
        }
        let port = state.withLock { $0.port }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    func finish(_: Int?) {
        let waiters = state.withLock { state -> [CheckedContinuation<Int?, Never>] in
            state.finished = true
            defer { state.waiters = [] }
            return state.waiters
        }
        let port = state.withLock { $0.port }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    func port() async -> Int? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Int?? in
                if state.port != nil || state.finished { return .some(state.port) }
                state.waiters.append(continuation)
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
