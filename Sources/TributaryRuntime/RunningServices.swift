public import Logging
public import ServiceLifecycle

/// Runs services (an engine, a simulator) for the length of a body (a test, `tributary demo`), then shuts them down gracefully.
public enum RunningServices {
    /// Starts `services`, waits for the first port `ports` yields (from an `onServerRunning`), runs `body` with it.
    public static func run<T: Sendable>(
        _ services: [any Service], ports: AsyncStream<Int>, logger: Logger, _ body: @escaping @Sendable (Int) async throws -> T
    ) async throws -> T {
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [], logger: logger))
        return try await withThrowingTaskGroup(of: T?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw NotStarted() }
            do {
                let result = try await body(port)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
        }
    }

    /// The services ended before announcing a port.
    public struct NotStarted: Error {}
}
