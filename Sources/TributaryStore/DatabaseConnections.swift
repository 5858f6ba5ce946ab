import TributaryCore
import Foundation
import GRDB
import Synchronization

/// The store's connection pool, replaced by a freshly opened one after an I/O error.
///
/// SQLite (like PostgreSQL) leaves a file's state unknown after a failed fsync: the pages the
/// connection holds may not match the disk. So a writer that saw an I/O error is not used again;
/// the next write opens new connections, which read the file as it is. The old pool closes when
/// its last user lets go of it.
final class DatabaseConnections: Sendable {
    private struct State {
        var pool: DatabasePool
        var poisoned = false
        var reopened = 0
    }

    private let state: Mutex<State>
    private let open: @Sendable () throws -> DatabasePool
    /// Copies the WAL into the database off the writer (its hook is installed on each writer opened).
    let checkpointer: Checkpointer

    init(checkpointer: Checkpointer, open: @escaping @Sendable () throws -> DatabasePool) throws {
        self.checkpointer = checkpointer
        self.open = open
        state = Mutex(State(pool: try open()))
    }

    /// The pool in use, for reads and for writes that do not go through ``writer()``.
    var current: DatabasePool { state.withLock { $0.pool } }

    /// How many times the connections were reopened after an I/O error.
    var reopened: Int { state.withLock { $0.reopened } }

    /// Marks the pool as not to be written through again.
    func poison() {
        state.withLock { $0.poisoned = true }
    }

    /// The pool to write through: the current one, or a new one if the current one saw an I/O error.
    /// - Throws: the error of opening the database again (it stays poisoned, and the next write retries).
    func writer() throws -> DatabasePool {
        let (pool, poisoned) = state.withLock { ($0.pool, $0.poisoned) }
        guard poisoned else { return pool }
        let fresh = try open()
        state.withLock { state in
            state.pool = fresh
            state.poisoned = false
            state.reopened += 1
        }
        return fresh
    }

    /// Closes every connection (tests that reopen the same file in the same process need it closed).
    func close() throws {
        checkpointer.close()
        try current.close()
    }
}
