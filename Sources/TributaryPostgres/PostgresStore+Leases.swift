import PostgresNIO
public import TributaryCore
public import TributaryStore

/// Leases and settings on PostgreSQL (``LeaseStore``, ``SettingsStore``).
///
/// `INSERT … ON CONFLICT DO UPDATE … WHERE` locks the lease's row and re-checks the condition on the
/// newest committed version, so of contenders on several nodes exactly one finds it free.
extension PostgresStore: LeaseStore, SettingsStore {
    public func acquireLease(_ name: String, holder: String, ttl: Duration, now: Int64) async throws(StoreError) -> Bool {
        let expires = now + ttl.microseconds
        return try await readValue(doing: "database cannot commit") { client, logger in
            let rows = try await client.query("""
                INSERT INTO leases (name, holder, expires_at) VALUES (\(name), \(holder), \(expires))
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE leases.holder = excluded.holder OR leases.expires_at <= \(now)
                RETURNING 1
                """, logger: logger)
            for try await _ in rows { return true }
            return false
        }
    }

    public func leaseHolder(_ name: String) async throws(StoreError) -> (holder: String, expiresAt: Int64)? {
        try await readValue { client, logger -> (holder: String, expiresAt: Int64)? in
            let rows = try await client.query("SELECT holder, expires_at FROM leases WHERE name = \(name)", logger: logger)
            for try await (holder, expires) in rows.decode((String, Int64).self) { return (holder, expires) }
            return nil
        }
    }

    public func takeOverLease(_ name: String, from previous: String, holder: String, ttl: Duration, now: Int64) async throws(StoreError) -> Bool {
        let expires = now + ttl.microseconds
        return try await readValue(doing: "database cannot commit") { client, logger in
            let rows = try await client.query("""
                UPDATE leases SET holder = \(holder), expires_at = \(expires) WHERE name = \(name) AND holder = \(previous) RETURNING 1
                """, logger: logger)
            for try await _ in rows { return true }
            return false
        }
    }

    public func releaseLease(_ name: String, holder: String) async throws(StoreError) {
        try await readValue(doing: "database cannot commit") { client, logger in
            _ = try await client.query("DELETE FROM leases WHERE name = \(name) AND holder = \(holder)", logger: logger)
        }
    }

    public func setting(_ key: String) async throws(StoreError) -> String? {
        try await readValue { client, logger in
            for try await value in try await client.query("SELECT value FROM settings WHERE key = \(key)", logger: logger).decode(String.self) {
                return value
            }
            return nil
        }
    }

    public func setSetting(_ key: String, to value: String) async throws(StoreError) {
        try await readValue(doing: "database cannot commit") { client, logger in
            _ = try await client.query("""
                INSERT INTO settings (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """, logger: logger)
        }
    }

    public func setSettingIfAbsent(_ key: String, to value: String) async throws(StoreError) -> Bool {
        try await readValue(doing: "database cannot commit") { client, logger in
            let rows = try await client.query("""
                INSERT INTO settings (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO NOTHING RETURNING 1
                """, logger: logger)
            for try await _ in rows { return true }
            return false
        }
    }
}
