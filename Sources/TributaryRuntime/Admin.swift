import Foundation
public import TributaryCore
import TributaryAPI
import TributaryProviders
import TributaryStore
public import TributaryScheduling

/// What the operator's commands do to one database (`connections`, `events`, `records`, `status`,
/// `admin-token`), without starting anything: the CLI's door to the store, as ``Engine`` is its door
/// to polling and reconcile.
///
/// Manifests are read only by the operations that need them (adding a connection, replaying an
/// unreadable delivery, redacting a body), so a broken manifest never keeps an operator from
/// reading the log.
public struct Admin: Sendable {
    let store: Store
    public let providersDirectory: String
    let now: @Sendable () -> Int64

    /// Opens the database with the store settings of `environment` (`TRIBUTARY_DB_BUSY_TIMEOUT_MS`).
    /// - Parameter readOnly: for the commands that only read: nothing is created, and a database this
    ///   process may not write is still read (see ``StoreOptions/readOnly``).
    /// - Throws: `.usage` naming a wrong setting; `.failure` when the database cannot be opened.
    public init(
        databasePath: String, providersDirectory: String, masterKey: String?, environment: [String: String], readOnly: Bool = false,
        now: @escaping @Sendable () -> Int64 = EngineClock.system.now
    ) throws(OperationError) {
        var options: StoreOptions
        do {
            options = try EngineConfiguration.storeOptions(environment: environment)
        } catch {
            throw .usage(error.message)
        }
        options.readOnly = readOnly
        do {
            store = try Store(path: databasePath, masterKey: masterKey, options: options, logger: EngineConfiguration.defaultLogger())
        } catch {
            throw .failure(error.message)
        }
        self.providersDirectory = providersDirectory
        self.now = now
    }

    /// Over a store already open (the running service's, for `/v1`'s write routes).
    init(store: Store, providersDirectory: String, now: @escaping @Sendable () -> Int64) {
        self.store = store
        self.providersDirectory = providersDirectory
        self.now = now
    }

    /// A store call whose errors are the system's (exit 1), except the codes listed, which are the command's.
    func run<T>(usage codes: Set<StoreError.Code> = [], _ body: () async throws(StoreError) -> T) async throws(OperationError) -> T {
        do {
            return try await body()
        } catch {
            throw codes.contains(error.code) ? .usage(error.message) : .failure(error.message)
        }
    }

    /// Every connection, in id order.
    public func connections() async throws(OperationError) -> [Connection] {
        try await run { () async throws(StoreError) in try await store.connections() }
    }

    /// The connection `id`, or `nil`.
    public func connection(id: String) async throws(OperationError) -> Connection? {
        try await run { () async throws(StoreError) in try await store.connection(id: id) }
    }

    /// Where each connection (or only `connection`) stands, read in one transaction.
    public func status(connection: String?) async throws(OperationError) -> [ConnectionStatus] {
        try await run { () async throws(StoreError) in try await store.status(connection: connection) }
    }

    /// A connection's mirror records, in a stable order.
    public func records(connection: String, type: String?, updatedAfter: Int64?, limit: Int) async throws(OperationError) -> [MirrorRecord] {
        try await run { () async throws(StoreError) in
            try await store.records(connection: connection, type: type, updatedAfter: updatedAfter, limit: limit)
        }
    }

    /// A record's events, newest first, among its connection's latest 50,000.
    public func recordHistory(connection: String, type: String, id: String) async throws(OperationError) -> [StoredEvent] {
        try await run { () async throws(StoreError) in try await store.recordHistory(connection: connection, type: type, id: id) }
    }

    /// One mirror record, or `nil`.
    public func record(connection: String, type: String, id: String) async throws(OperationError) -> MirrorRecord? {
        try await run { () async throws(StoreError) in try await store.record(connection: connection, type: type, id: id) }
    }

    /// Replaces the `/v1` admin token's stored digest with a new token's, and returns the token, to
    /// be handed over once (see ``AdminToken/rotate(store:)``).
    public func rotateAdminToken() async throws(OperationError) -> String {
        do {
            return try await AdminToken.rotate(store: store)
        } catch {
            throw .failure("cannot rotate the admin token: \(error.message)")
        }
    }
}
