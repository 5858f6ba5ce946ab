/// Lets one batch of webhook deliveries run at a time, in the order the batches asked.
///
/// Why: the emitter's service loop and a test's ``WebhookEmitter/deliverPending()`` may both deliver.
/// Without turns, a test that returned from `deliverPending()` could still have the loop's batch in
/// flight, and a late delivery would land in the middle of what the test does next (a final sweep).
actor DeliveryTurns {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// Waits until no other batch is being delivered, then holds the turn until ``release()``.
    func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Hands the turn to the next waiting batch, if any.
    func release() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}
