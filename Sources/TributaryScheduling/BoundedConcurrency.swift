/// Runs `body` for every element, at most `limit` at a time, and returns the results in the order
/// they finished.
///
/// The one shape of fan-out the workers share: the poll runner's resources and the reconciler's
/// fetches each start `limit` tasks, then one more as each ends.
public func forEachConcurrently<Element: Sendable, Result: Sendable>(
    _ elements: [Element], limit: Int, _ body: @escaping @Sendable (Element) async -> Result
) async -> [Result] {
    await withTaskGroup(of: Result.self) { group in
        var results: [Result] = []
        results.reserveCapacity(elements.count)
        var iterator = elements.makeIterator()
        for _ in 0..<max(1, limit) {
            guard let element = iterator.next() else { break }
            group.addTask { await body(element) }
        }
        while let result = await group.next() {
            results.append(result)
            if let element = iterator.next() { group.addTask { await body(element) } }
        }
        return results
    }
}
