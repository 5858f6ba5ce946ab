import TributaryCore
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Copies the WAL into the database on a connection of its own, so that no commit waits for it.
///
/// SQLite's automatic checkpoint runs inside the commit that passes 1,000 WAL pages, on the
/// writer: every webhook queued behind that commit waits while the WAL is copied and the database
/// file synced (seconds, once the WAL is large). Here the writer's WAL hook only notes the size;
/// past the same 1,000 pages a passive checkpoint (which never blocks writers or readers) runs on
/// the checkpointer's own serial queue, one at a time.
final class Checkpointer: Sendable {
    /// WAL pages after which a checkpoint starts (SQLite's own default for its automatic one).
    static let pages: Int32 = 1000

    private let location: String
    private let configuration: Configuration
    private let queue = DispatchQueue(label: "tributary.checkpoint", qos: .utility)
    private let running = Atomic<Bool>(false)

    init(location: String, configuration: Configuration) {
        self.location = location
        self.configuration = configuration
    }

    /// Installs the hook on the writer connection `db` (replacing SQLite's automatic checkpoint there).
    func install(on db: Database) {
        // The hook holds the checkpointer for as long as the connection lives: retained once per writer.
        let context = Unmanaged.passRetained(self).toOpaque()
        sqlite3_wal_hook(db.sqliteConnection, { context, _, _, pages in
            if let context, pages >= Checkpointer.pages {
                Unmanaged<Checkpointer>.fromOpaque(context).takeUnretainedValue().start()
            }
            return SQLITE_OK
        }, context)
    }

    /// Starts a checkpoint unless one is running. Each opens a connection and closes it after, so a
    /// store that is gone leaves nothing open behind it.
    func start() {
        guard running.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        queue.async { [self] in
            defer { running.store(false, ordering: .releasing) }
            // Busy or failing, a checkpoint is only put off: what was not copied stays in the WAL.
            guard let database = try? DatabaseQueue(path: location, configuration: configuration) else { return }
            try? database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") }
            try? database.close()
        }
    }

    /// Waits for a running checkpoint to end.
    func close() {
        queue.sync {}
    }
}
