import Foundation
import Hummingbird
import TributaryCore
import TributaryStore

/// The query parameters of one API request, read and validated; a bad one is a 400 naming it.
struct APIQuery {
    static let defaultLimit = 100
    static let maxLimit = 1000

    let parameters: [String: String]

    init(_ request: Request) {
        var parameters: [String: String] = [:]
        // A repeated parameter keeps its first value, as Hummingbird's own lookup does.
        for (key, value) in request.uri.queryParameters where parameters[String(key)] == nil {
            parameters[String(key)] = String(value)
        }
        self.parameters = parameters
    }

    /// A parameter's value; an empty one (`?type=`) counts as absent.
    func string(_ name: String) -> String? {
        guard let value = parameters[name], !value.isEmpty else { return nil }
        return value
    }

    /// `limit`: 1…1000, default 100.
    func limit() throws(APIError) -> Int {
        guard let text = string("limit") else { return Self.defaultLimit }
        guard let limit = Int(text), (1...Self.maxLimit).contains(limit) else {
            throw APIError.badRequest("limit must be a whole number from 1 to \(Self.maxLimit), not \"\(text)\".")
        }
        return limit
    }

    /// An RFC 3339 time, in microseconds since the epoch.
    func timestamp(_ name: String) throws(APIError) -> Int64? {
        guard let text = string(name) else { return nil }
        guard let micros = Timestamp.microseconds(rfc3339: text) else {
            throw APIError.badRequest("\(name) must be an RFC 3339 time such as 2026-11-20T10:00:00Z, not \"\(text)\".")
        }
        return micros
    }

    /// An event status (`pending`, `applied`, …).
    func status(_ name: String) throws(APIError) -> EventStatus? {
        guard let text = string(name) else { return nil }
        guard let status = EventStatus(rawValue: text) else {
            let known = EventStatus.allCases.map(\.rawValue).joined(separator: ", ")
            throw APIError.badRequest("\(name) must be one of \(known), not \"\(text)\".")
        }
        return status
    }

    /// A sequence-number cursor (`/v1/events` `cursor`, `/v1/changes` `after`): a non-negative integer.
    func sequence(_ name: String) throws(APIError) -> Int64? {
        guard let text = string(name) else { return nil }
        guard let value = Int64(text), value >= 0 else {
            throw APIError.badRequest("\(name) must be a next_cursor this API returned (a non-negative integer), not \"\(text)\".")
        }
        return value
    }

    /// The `/v1/records` cursor: the key of the last record of the previous page.
    func recordCursor(_ name: String) throws(APIError) -> MirrorKey? {
        guard let text = string(name) else { return nil }
        guard let key = RecordCursor.decode(text) else {
            throw APIError.badRequest("\(name) \"\(text)\" is not a next_cursor this API returned.")
        }
        return key
    }
}

/// The opaque `/v1/records` cursor: base64url (no padding) of the JSON array `[connection, record_type, record_id]`.
///
/// Opaque so clients cannot build one by hand and so the key's shape may change; JSON inside so any
/// id (with commas, slashes, non-ASCII) round-trips exactly.
enum RecordCursor {
    static let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ key: MirrorKey) -> String {
        let json = JSONValue.array([.string(key.connection), .string(key.recordType), .string(key.recordId)]).jsonText
        return Data(json.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String) -> MirrorKey? {
        // Data(base64Encoded:) would also take "+", "/" and "=": only what encode(_:) writes is a cursor.
        guard !text.isEmpty, text.utf8.allSatisfy(alphabet.contains) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64),
              case .array(let parts)? = JSONValue(parsing: Array(data)), parts.count == 3,
              case .string(let connection) = parts[0], case .string(let recordType) = parts[1], case .string(let recordId) = parts[2]
        else { return nil }
        return MirrorKey(connection: connection, recordType: recordType, recordId: recordId)
    }
}
