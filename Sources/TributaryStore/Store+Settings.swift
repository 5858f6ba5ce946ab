public import TributaryCore
import GRDB

extension Store {
    /// The value of a service-wide setting, or `nil` when it was never set.
    public func setting(_ key: String) async throws(StoreError) -> String? {
        try await readValue { db in try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key]) }
    }

    /// Sets a service-wide setting, replacing any value it had.
    public func setSetting(_ key: String, to value: String) async throws(StoreError) {
        try await writeValue { db in
            try db.execute(sql: """
                INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """, arguments: [key, value])
        }
    }

    /// Sets a setting only if it has no value yet, atomically: of two processes starting at once, one wins.
    /// - Returns: whether this call stored `value` (`false`: the setting already had a value, left as it is).
    public func setSettingIfAbsent(_ key: String, to value: String) async throws(StoreError) -> Bool {
        try await writeValue { db in
            try db.execute(sql: "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", arguments: [key, value])
            return db.changesCount == 1
        }
    }
}
