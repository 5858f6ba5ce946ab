import TributaryCore
/// Turns queued changes into the deliveries actually sent: some dropped, some doubled, order shuffled within a window.
///
/// Drop and duplicate draws are made per change, in change order, from the webhook stream of
/// the seed, so which changes are dropped or doubled replays exactly for a seed. The reorder
/// draws depend on how changes are batched, which follows timing when the loop runs live.
struct WebhookPlanner: Sendable {
    struct Counters: Sendable, Equatable {
        var sent = 0
        var delivered = 0
        var failed = 0
        var dropped = 0
        var duplicated = 0
    }

    let dropRate: Double
    let duplicateRate: Double
    let reorderWindow: Int
    private var random: SplitMix64
    var counters = Counters()
    /// Every delivery dropped from now on: the provider stopped sending webhooks (an outage, a
    /// subscription it disabled) while its API keeps changing.
    var silenced = false

    init(configuration: WebhookConfiguration, random: SplitMix64) {
        dropRate = configuration.dropRate
        duplicateRate = configuration.duplicateRate
        reorderWindow = configuration.reorderWindow
        self.random = random
    }

    /// The deliveries for `messages`, in send order.
    mutating func plan(_ messages: [WebhookMessage]) -> [WebhookMessage] {
        var kept: [WebhookMessage] = []
        kept.reserveCapacity(messages.count)
        for message in messages {
            let drop = random.chance(dropRate)
            let duplicate = random.chance(duplicateRate)
            if drop || silenced {
                counters.dropped += 1
                continue
            }
            kept.append(message)
            if duplicate {
                counters.duplicated += 1
                kept.append(message)
            }
        }
        guard reorderWindow > 1 else { return kept }
        var ordered: [WebhookMessage] = []
        ordered.reserveCapacity(kept.count)
        var window: [WebhookMessage] = []
        var next = 0
        while ordered.count < kept.count {
            while window.count < reorderWindow, next < kept.count {
                window.append(kept[next])
                next += 1
            }
            ordered.append(window.remove(at: window.count == 1 ? 0 : random.next(below: window.count)))
        }
        return ordered
    }
}
