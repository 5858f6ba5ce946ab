import Foundation
import GRDB
package import Synchronization
package import TributaryCore

/// Appends events so that concurrent requests share one transaction and one fsync.
///
/// Leader/follower hand-off, no timer: the first caller to find no commit in
/// flight becomes the leader, takes every draft queued so far (its own
/// included), commits them in one transaction, resumes their callers, and then
/// hands leadership to the first caller that queued while it was committing.
/// So a request waits for at most the commit in flight plus its own, and under
/// load the batch grows by itself. Each caller is resumed only after the
/// transaction holding its row has committed (`synchronous=FULL`).
///
/// Failures are answered at once and honestly:
/// - A batch that fails because the database cannot commit (locked past the busy timeout, an I/O
///   error, a full disk) fails as a whole, and so does every append that queued behind it: each
///   has waited up to one busy timeout already, and the next batch would make it wait another.
///   Only a constraint error (or a connection removed meanwhile) splits a batch, so one bad row
///   cannot fail the rest.
/// - After an I/O error the database's connections are closed and reopened before the next
///   commit (a failed fsync leaves the file's state unknown), and the writer counts as unhealthy
///   (`/readyz` answers 503) until a commit succeeds again.
/// - Appends wait in memory only up to ``StoreOptions/maxWaitingEvents`` and
///   ``StoreOptions/maxWaitingBytes``; past either, an append is refused at once (`.overloaded`).
package final class GroupCommitWriter: Sendable {
    private struct Pending: Sendable {
        var draft: EventDraft
        /// `nil` for the leader's own entry: the leader reads its result directly.
        var continuation: CheckedContinuation<Outcome, Never>?
    }

    private enum Outcome: Sendable {
        case done(Result<AppendResult, StoreError>)
        case lead
    }

    private struct State {
        var queue: [Pending] = []
        var leaderActive = false
        var gauge = IntakeQueueGauge()
    }

    private let state = Mutex(State())
    /// Told each batch's size once it is committed (the service's metrics).
    package let observer = Mutex<(@Sendable (Int) -> Void)?>(nil)
    private let committer: any EventCommitter
    private let options: StoreOptions

    package init(committer: any EventCommitter, options: StoreOptions) {
        self.committer = committer
        self.options = options
    }

    /// What waits for a commit now, the most that ever waited, and how commits went.
    package var gauge: IntakeQueueGauge {
        var gauge = state.withLock { $0.gauge }
        gauge.reopened = committer.reopened
        return gauge
    }

    /// Whether the last commit (or readiness probe) succeeded.
    package var isHealthy: Bool { state.withLock { $0.gauge.healthy } }

    /// Appends `draft` once its transaction committed.
    /// - Parameter reservation: room taken by ``reserve(bytes:)`` before the body was read (intake);
    ///   the caller releases it. Without one the append takes its own room, or is refused at once.
    package func append(_ draft: EventDraft, reservation: IntakeReservation? = nil) async throws(StoreError) -> AppendResult {
        let own = reservation == nil
            ? try reserve(bytes: Self.cost(body: draft.body.count, headers: draft.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count }))
            : nil
        defer { if let own { release(own) } }
        guard options.groupCommit else { return try await commit([draft])[0].get() }
        let leading = state.withLock { state -> Bool in
            guard !state.leaderActive else { return false }
            state.leaderActive = true
            state.queue.append(Pending(draft: draft, continuation: nil))
            return true
        }
        if !leading {
            let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                let leadNow = state.withLock { state -> Bool in
                    if state.leaderActive {
                        state.queue.append(Pending(draft: draft, continuation: continuation))
                        return false
                    }
                    state.leaderActive = true
                    state.queue.append(Pending(draft: draft, continuation: nil))
                    return true
                }
                if leadNow { continuation.resume(returning: .lead) }
            }
            if case .done(let result) = outcome { return try result.get() }
        }
        return try await lead().get()
    }

    /// The memory an append holds while it waits: its body and header bytes, plus a fixed allowance.
    package static func cost(body: Int, headers: Int) -> Int {
        body + headers + 512
    }

    /// Counts one append of about `bytes` in, or refuses it when the bound would be passed. Intake
    /// reserves before it reads a body (sized by its `Content-Length`), so a request refused here
    /// costs no memory. One append is always admitted when nothing waits, so a bound set below the
    /// body limit cannot refuse everything.
    package func reserve(bytes: Int) throws(StoreError) -> IntakeReservation {
        let refusal = state.withLock { state -> String? in
            let gauge = state.gauge
            if gauge.waitingEvents > 0,
               gauge.waitingEvents + 1 > options.maxWaitingEvents || gauge.waitingBytes + bytes > options.maxWaitingBytes {
                state.gauge.refused += 1
                return "intake is at its bound (\(gauge.waitingEvents) events, \(gauge.waitingBytes) bytes waiting for a commit)"
            }
            state.gauge.waitingEvents += 1
            state.gauge.waitingBytes += bytes
            state.gauge.peakEvents = max(state.gauge.peakEvents, state.gauge.waitingEvents)
            state.gauge.peakBytes = max(state.gauge.peakBytes, state.gauge.waitingBytes)
            return nil
        }
        if let refusal { throw StoreError(.overloaded, refusal) }
        return IntakeReservation(bytes: bytes)
    }

    package func release(_ reservation: IntakeReservation) {
        state.withLock { state in
            state.gauge.waitingEvents -= 1
            state.gauge.waitingBytes -= reservation.bytes
        }
    }

    /// Commits one batch (which holds this caller's own draft), then passes leadership on.
    private func lead() async -> Result<AppendResult, StoreError> {
        let batch = state.withLock { state -> [Pending] in
            defer { state.queue.removeAll(keepingCapacity: true) }
            return state.queue
        }
        let results = await commit(batch.map(\.draft))
        observer.withLock { $0 }?(batch.count)
        var own: Result<AppendResult, StoreError> = .failure(StoreError(.internal, "leader entry missing from its batch"))
        var unavailable: StoreError?
        for (pending, result) in zip(batch, results) {
            if case .failure(let error) = result, error.code == .unavailable { unavailable = error }
            if let continuation = pending.continuation {
                continuation.resume(returning: .done(result))
            } else {
                own = result
            }
        }
        let (next, failed) = state.withLock { state -> (CheckedContinuation<Outcome, Never>?, [Pending]) in
            if unavailable != nil {
                // What queued behind a batch the database could not commit fails with it.
                let waiting = state.queue
                state.queue.removeAll(keepingCapacity: true)
                state.leaderActive = false
                return (nil, waiting)
            }
            guard !state.queue.isEmpty else {
                state.leaderActive = false
                return (nil, [])
            }
            let continuation = state.queue[0].continuation
            state.queue[0].continuation = nil
            return (continuation, [])
        }
        if let unavailable {
            for pending in failed { pending.continuation?.resume(returning: .done(.failure(unavailable))) }
        }
        next?.resume(returning: .lead)
        return own
    }

    /// One transaction for the whole batch. A constraint error (or a connection removed meanwhile)
    /// splits it, each draft in its own transaction; any other failure fails every draft at once.
    private func commit(_ drafts: [EventDraft]) async -> [Result<AppendResult, StoreError>] {
        do throws(StoreError) {
            let results = try await committer.insert(drafts)
            committed()
            return results.map { .success($0) }
        } catch {
            failed(error)
            guard error.code != .unavailable, drafts.count > 1 else { return drafts.map { _ in .failure(error) } }
            var results: [Result<AppendResult, StoreError>] = []
            for draft in drafts {
                do throws(StoreError) {
                    results.append(.success(try await committer.insert([draft])[0]))
                    committed()
                } catch {
                    failed(error)
                    results.append(.failure(error))
                    if error.code == .unavailable {
                        results += Array(repeating: .failure(error), count: drafts.count - results.count)
                        break
                    }
                }
            }
            return results
        }
    }

    /// A commit that is not an event, for readiness: `/readyz` calls it while the writer is unhealthy.
    package func probe(now: Int64) async throws(StoreError) {
        do throws(StoreError) {
            try await committer.probe(now: now)
            committed()
        } catch {
            failed(error)
            throw error
        }
    }

    private func committed() {
        state.withLock { state in
            state.gauge.commits += 1
            state.gauge.healthy = true
        }
    }

    /// Marks the writer unhealthy when the database could not commit.
    private func failed(_ error: StoreError) {
        guard error.code == .unavailable else { return }
        state.withLock { state in
            state.gauge.failedCommits += 1
            state.gauge.healthy = false
        }
    }
}

/// The database a ``GroupCommitWriter`` commits through: one per store.
package protocol EventCommitter: Sendable {
    /// Inserts `drafts` in one transaction, each idempotently (a repeat answers the first row's seq),
    /// and returns once it has committed durably.
    /// - Throws: `.unavailable` when the database cannot commit; `.invalid` or `.notFound` for a draft
    ///   the database refuses (the writer then retries the batch's drafts one by one).
    func insert(_ drafts: [EventDraft]) async throws(StoreError) -> [AppendResult]
    /// Commits something that is not an event (readiness).
    func probe(now: Int64) async throws(StoreError)
    /// Times the database's connections were closed and reopened after an I/O error.
    var reopened: Int { get }
}

/// SQLite's committer: through the pool's writer, reopened after an I/O error.
struct SQLiteEventCommitter: EventCommitter {
    let database: DatabaseConnections

    func insert(_ drafts: [EventDraft]) async throws(StoreError) -> [AppendResult] {
        do {
            return try await database.writer().write { db in try drafts.map { try EventLog.insert($0, db: db) } }
        } catch {
            throw failure(error)
        }
    }

    func probe(now: Int64) async throws(StoreError) {
        do {
            try await database.writer().write { db in
                try db.execute(sql: """
                    INSERT INTO settings (key, value) VALUES ('readyz.probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value
                    """, arguments: [String(now)])
            }
        } catch {
            throw failure(error)
        }
    }

    var reopened: Int { database.reopened }

    /// Maps a failed commit's error, and closes the connections after an I/O error.
    private func failure(_ error: any Error) -> StoreError {
        if let db = error as? DatabaseError, db.resultCode == .SQLITE_IOERR { database.poison() }
        return StoreError.wrapping(error)
    }
}

/// Room for one webhook among those intake may hold at once (see ``Store/reserveIntake(bodyBytes:headerBytes:)``).
public struct IntakeReservation: Sendable {
    let bytes: Int
}

/// What waits for the intake writer and how its commits went: the writer's own gauge.
public struct IntakeQueueGauge: Sendable, Equatable {
    /// Appends waiting for a commit now (counting the batch being committed, and webhooks whose body
    /// intake is reading), and the bytes they hold.
    public var waitingEvents = 0
    public var waitingBytes = 0
    /// The most that ever waited at once.
    public var peakEvents = 0
    public var peakBytes = 0
    /// Appends refused because the bound was reached.
    public var refused = 0
    /// Transactions committed, and commits that failed because the database could not commit.
    public var commits = 0
    public var failedCommits = 0
    /// Whether the last commit succeeded.
    public var healthy = true
    /// Times the database's connections were closed and reopened after an I/O error.
    public var reopened = 0
}

extension StoreError {
    /// Maps a database error to a store error: I/O, full disk, busy and read-only mean "unavailable".
    static func wrapping(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        if let db = error as? DatabaseError {
            switch db.resultCode {
            case .SQLITE_CONSTRAINT: return StoreError(.invalid, "rejected by a database constraint: \(db.message ?? "")")
            default: return StoreError(.unavailable, "database cannot commit: \(db.extendedResultCode) \(db.message ?? "")")
            }
        }
        return StoreError(.unavailable, "database cannot commit: \(error)")
    }
}
