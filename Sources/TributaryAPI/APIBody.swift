import Hummingbird
import NIOCore
import TributaryCore

/// The JSON object a write route is sent, read and checked: at most ``maxBytes``, an object, and no
/// member the route does not know (a misspelt `record_type` must not silently widen a destination).
/// A wrong value is a 400 naming its member.
struct APIBody {
    static let maxBytes = 64 * 1024

    let members: [(key: String, value: JSONValue)]

    /// Reads the body of `request`; an empty body is an empty object.
    static func read(_ request: Request, allowed: Set<String>) async throws(APIError) -> APIBody {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBytes)
        } catch {
            throw APIError(.contentTooLarge, "the request body must be a JSON object of at most \(maxBytes / 1024) KB.")
        }
        if buffer.readableBytes == 0 { return APIBody(members: []) }
        guard let value = JSONValue(parsing: buffer.readableBytesView), case .object(let members) = value else {
            throw APIError.badRequest("the request body must be a JSON object, such as {\"url\": \"https://app.example.com/hooks\"}.")
        }
        if let unknown = members.first(where: { !allowed.contains($0.key) }) {
            throw APIError.badRequest("\"\(unknown.key.prefix(64))\" is not a member this route takes; it takes \(allowed.sorted().joined(separator: ", ")).")
        }
        return APIBody(members: members)
    }

    private func value(_ key: String) -> JSONValue? {
        guard let value = members.first(where: { $0.key == key })?.value, value != .null else { return nil }
        return value
    }

    /// A string member; absent or `null` is `nil`.
    func string(_ key: String) throws(APIError) -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else { throw APIError.badRequest("\(key) must be a string.") }
        return text
    }

    /// An array of strings; absent or `null` is `nil`.
    func strings(_ key: String) throws(APIError) -> [String]? {
        guard let value = value(key) else { return nil }
        guard case .array(let items) = value else { throw APIError.badRequest("\(key) must be an array of strings.") }
        var strings: [String] = []
        for item in items {
            guard case .string(let text) = item else { throw APIError.badRequest("\(key) must be an array of strings.") }
            strings.append(text)
        }
        return strings
    }

    /// A whole number member; absent or `null` is `nil`.
    func integer(_ key: String) throws(APIError) -> Int64? {
        guard let value = value(key) else { return nil }
        guard case .number(let text) = value, let number = Int64(text) else { throw APIError.badRequest("\(key) must be a whole number.") }
        return number
    }

    /// An array of whole numbers; absent or `null` is `nil`.
    func integers(_ key: String) throws(APIError) -> [Int64]? {
        guard let value = value(key) else { return nil }
        guard case .array(let items) = value else { throw APIError.badRequest("\(key) must be an array of whole numbers.") }
        var numbers: [Int64] = []
        for item in items {
            guard case .number(let text) = item, let number = Int64(text) else { throw APIError.badRequest("\(key) must be an array of whole numbers.") }
            numbers.append(number)
        }
        return numbers
    }

    /// A boolean member; absent or `null` is `false`.
    func flag(_ key: String) throws(APIError) -> Bool {
        guard let value = value(key) else { return false }
        guard case .bool(let flag) = value else { throw APIError.badRequest("\(key) must be true or false.") }
        return flag
    }
}
