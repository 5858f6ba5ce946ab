import TributaryCore
/// How a ``Store`` opens its database and bounds what intake may hold in memory.
public struct StoreOptions: Sendable {
    /// Share one transaction between concurrent appends (default). `false` commits each append on its
    /// own; it exists so the benchmark can measure what group commit buys.
    public var groupCommit = true
    /// How long a statement waits for another process's write lock before failing
    /// (`TRIBUTARY_DB_BUSY_TIMEOUT_MS`, default 5 s). Intake's 503s arrive within about this time
    /// when the database is locked.
    public var busyTimeout: Duration = .seconds(5)
    /// Appends that may wait for a commit at once, counting the batch being committed
    /// (`TRIBUTARY_INTAKE_MAX_WAITING_EVENTS`, default 10,000). Past it intake answers 503 at once.
    public var maxWaitingEvents = 10_000
    /// Body bytes those waiting appends may hold (`TRIBUTARY_INTAKE_MAX_WAITING_BYTES`, default 64 MiB).
    public var maxWaitingBytes = 64 << 20

    /// Open for reading only (`events list`, `status`, `records`, `connections list`): nothing is
    /// created or migrated, and a database the process may not write (a read-only file, directory
    /// or file system) can still be read. It must exist and be at the current schema.
    public var readOnly = false

    /// The SQLite VFS to open the database through (`file:PATH?vfs=NAME`): the fault-injecting VFS of
    /// the tests and benchmarks. Never set by `serve`.
    package var vfs: String?
    /// Opens with `synchronous=NORMAL` instead of refusing it: only so the power-cut test can show
    /// that it catches a store that would lose acknowledged events. Never set by `serve`.
    package var unsafeSynchronousNormal = false

    public init() {}
}
