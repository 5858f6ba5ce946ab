public import ServiceLifecycle

/// The simulator's long-running work — the background mutation loop and, when configured, the
/// webhook emitter — as one `Service` for the application's service group.
///
/// Both run as children of ``run()``, so they start and stop with it; neither outlives it.
public struct ProviderSimulatorService: Service {
    public let simulator: ProviderSimulator

    public init(simulator: ProviderSimulator) {
        self.simulator = simulator
    }

    public func run() async throws {
        let simulator = self.simulator
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await MutationLoop(simulator: simulator).run() }
            if let emitter = simulator.webhookEmitter {
                group.addTask { try await emitter.run() }
            }
        }
    }
}
