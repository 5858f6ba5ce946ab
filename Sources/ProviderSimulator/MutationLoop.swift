import ServiceLifecycle

/// The background mutation loop: while started, applies generated changes at the configured rate.
///
/// Pacing is real time (the simulator clock may be a test's, which does not move by itself);
/// the changes are stamped with the simulator clock as always. Stopped, it waits for a
/// start without polling. It returns on graceful shutdown or cancellation.
struct MutationLoop: Sendable {
    let simulator: ProviderSimulator

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await loop() }
        } catch is CancellationError {
            return
        }
    }

    private func loop() async throws {
        var wakeups = simulator.controlWakeups.subscribe().makeAsyncIterator()
        var pacer = MutationPacer()
        let clock = ContinuousClock()
        var last = clock.now
        while !Task.isCancelled {
            guard let rate = simulator.mutationRate else {
                pacer.reset()
                guard await wakeups.next() != nil else { return }
                last = clock.now
                continue
            }
            try await Task.sleep(for: MutationPacer.tick(rate: rate))
            let now = clock.now
            let elapsed = now - last
            last = now
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            simulator.mutateIfRunning(count: pacer.due(rate: rate, elapsedSeconds: seconds))
        }
    }
}
