import PostgresNIO
import TributaryCore

/// Maps what postgres-nio throws to the store's one error type.
///
/// The rule is SQLite's: a row the database refuses (an integrity constraint, SQLSTATE class 23)
/// is `.invalid`; anything else means the database did not commit (`.unavailable`: intake answers
/// 503 and the sender retries, which the dedupe makes safe even when the commit did land).
enum PostgresFailure {
    static func storeError(_ error: any Error, doing what: String = "database cannot commit") -> StoreError {
        if let error = error as? StoreError { return error }
        if let transaction = error as? PostgresTransactionError {
            if let inner = transaction.closureError ?? transaction.commitError ?? transaction.beginError {
                return storeError(inner, doing: what)
            }
        }
        if let sqlState = sqlState(error), sqlState.hasPrefix("23") {
            return StoreError(.invalid, "rejected by a database constraint: \(describe(error))")
        }
        return StoreError(.unavailable, "\(what): \(describe(error))")
    }

    /// The server's SQLSTATE, when the server answered with an error.
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// One line about `error` that never holds a password or a bound value: the server's SQLSTATE
    /// and message, or the client's error code and the network error under it.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else {
            if let transaction = error as? PostgresTransactionError,
               let inner = transaction.closureError ?? transaction.commitError ?? transaction.beginError {
                return describe(inner)
            }
            return "\(error)"
        }
        if let info = error.serverInfo, let message = info[.message] {
            return "\(message) (SQLSTATE \(info[.sqlState] ?? "?"))"
        }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }
}
