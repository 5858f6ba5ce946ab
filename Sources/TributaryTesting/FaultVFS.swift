import Foundation
import TributaryFaultVFS

/// The fault-injecting SQLite VFS (`Sources/TributaryFaultVFS`): one instance per test, under a name
/// of its own, so tests running in parallel never share faults. A store opens through it with
/// `StoreOptions.vfs = vfs.name`.
public struct FaultVFS: Sendable {
    public enum Operation: Int32, Sendable {
        case write = 0
        case sync = 1
        /// A write lock: how WAL mode takes it is an exclusive lock on the shared-memory index.
        case lock = 2
    }

    /// SQLite result codes the tests inject.
    public static let ioErrorFsync: Int32 = 10 | (4 << 8)  // SQLITE_IOERR_FSYNC
    public static let full: Int32 = 13                      // SQLITE_FULL
    public static let busy: Int32 = 5                       // SQLITE_BUSY

    public let name: String

    public init() {
        name = "tributary-fault-" + UUID().uuidString.lowercased()
        let rc = tfvfs_register(name)
        precondition(rc == 0, "cannot register the fault VFS: SQLite error \(rc)")
    }

    /// Loses every write not yet synced (or keeps a seeded random prefix of each file's, the next
    /// one torn); every later I/O fails until ``restore()``. Returns how many writes were lost.
    @discardableResult
    public func powerCut(seed: UInt64, keepPrefix: Bool = false, tear: Bool = false) -> Int {
        Int(tfvfs_power_cut(name, seed, keepPrefix ? 1 : 0, tear ? 1 : 0))
    }

    /// Power back on: call once every connection is closed (``openFiles`` is 0).
    public func restore() { tfvfs_restore(name) }

    /// Fails the `nth` next call of `operation` with `code`, and every later one if `persistent`.
    public func inject(_ operation: Operation, nth: Int = 1, code: Int32, persistent: Bool) {
        tfvfs_inject(name, operation.rawValue, Int64(nth), code, persistent ? 1 : 0)
    }

    /// Clears every injected fault.
    public func clear() { tfvfs_clear(name) }

    public func count(_ operation: Operation) -> Int { Int(tfvfs_count(name, operation.rawValue)) }
    public func failed(_ operation: Operation) -> Int { Int(tfvfs_failed(name, operation.rawValue)) }
    public var unsyncedBytes: Int { Int(tfvfs_unsynced_bytes(name)) }
    public var openFiles: Int { Int(tfvfs_open_files(name)) }
}
