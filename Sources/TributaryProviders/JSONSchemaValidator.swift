import Foundation
public import TributaryCore

/// Validates a JSON value against the subset of JSON Schema that `Schemas/provider.schema.json` uses.
///
/// Keywords understood: `type`, `properties`, `required`, `additionalProperties`
/// (false), `enum`, `const`, `items`, `minItems`, `minimum`, `maximum`, `pattern`,
/// `oneOf`, `$ref` to `#/$defs/…`. Every error carries the JSON Pointer of the
/// offending value, so `providers validate` can say where in the file it is.
public struct JSONSchemaValidator: Sendable {
    let root: JSONValue

    public init(schema: JSONValue) {
        root = schema
    }

    public func validate(_ value: JSONValue) -> [ManifestError] {
        var errors: [ManifestError] = []
        check(value, against: root, at: "", into: &errors)
        return errors
    }

    func resolve(_ schema: JSONValue) -> JSONValue {
        guard let ref = schema["$ref"]?.stringValue, ref.hasPrefix("#/"),
              let target = JSONPointer(String(ref.dropFirst()))?.resolve(in: root) else { return schema }
        return resolve(target)
    }

    func check(_ value: JSONValue, against rawSchema: JSONValue, at path: String, into errors: inout [ManifestError]) {
        let schema = resolve(rawSchema)
        if let types = schema["type"] {
            let allowed: [String]
            switch types {
            case .array(let items): allowed = items.compactMap(\.stringValue)
            default: allowed = [types.stringValue ?? ""]
            }
            guard allowed.contains(where: { Self.matches(value, type: $0) }) else {
                errors.append(ManifestError(path: path, reason: "expected \(allowed.joined(separator: " or ")), found \(Self.typeName(value))"))
                return
            }
        }
        if let constant = schema["const"], constant != value {
            errors.append(ManifestError(path: path, reason: "must be \(constant.jsonText)"))
        }
        if case .array(let options)? = schema["enum"], !options.contains(value) {
            errors.append(ManifestError(path: path, reason: "must be one of \(options.map(\.jsonText).joined(separator: ", ")), found \(value.jsonText)"))
        }
        if let pattern = schema["pattern"]?.stringValue, case .string(let s) = value,
           s.range(of: pattern, options: .regularExpression) == nil {
            errors.append(ManifestError(path: path, reason: "\"\(s)\" does not match \(pattern)"))
        }
        if let minimum = schema["minimum"]?.doubleValue, let number = value.doubleValue, case .number = value, number < minimum {
            errors.append(ManifestError(path: path, reason: "must be at least \(schema["minimum"]!.jsonText)"))
        }
        if let maximum = schema["maximum"]?.doubleValue, let number = value.doubleValue, case .number = value, number > maximum {
            errors.append(ManifestError(path: path, reason: "must be at most \(schema["maximum"]!.jsonText)"))
        }
        if case .object(let members) = value {
            if case .array(let required)? = schema["required"] {
                for name in required.compactMap(\.stringValue) where value[name] == nil {
                    errors.append(ManifestError(path: path, reason: "missing required key \"\(name)\""))
                }
            }
            let properties = schema["properties"]
            for member in members {
                let childPath = path + "/" + Self.escape(member.key)
                if let sub = properties?[member.key] {
                    check(member.value, against: sub, at: childPath, into: &errors)
                } else if schema["additionalProperties"] == .bool(false) {
                    errors.append(ManifestError(path: childPath, reason: "unknown key \"\(member.key)\""))
                }
            }
        }
        if case .array(let items) = value {
            if let minItems = schema["minItems"]?.int64Value, items.count < minItems {
                errors.append(ManifestError(path: path, reason: "needs at least \(minItems) item(s)"))
            }
            if let itemSchema = schema["items"] {
                for (i, item) in items.enumerated() {
                    check(item, against: itemSchema, at: "\(path)/\(i)", into: &errors)
                }
            }
        }
        if case .array(let options)? = schema["oneOf"] {
            var passing = 0
            var firstErrors: [ManifestError]?
            var firstRank = (Int.max, Int.max, Int.max)
            var firstOfType = false
            for option in options {
                var optionErrors: [ManifestError] = []
                check(value, against: option, at: path, into: &optionErrors)
                guard !optionErrors.isEmpty else { passing += 1; continue }
                // The errors of the form the author meant: one of the value's own type (a list with a bad
                // entry is not "expected object"), then one whose discriminator (a `const` key such as
                // scheme, format or source) matched, then the fewest errors. Without the second rule a
                // mailgun verification with a header timestamp was reported against hubspot-v3.
                let ofType = option["type"]?.stringValue.map { Self.matches(value, type: $0) } ?? false
                let discriminatorFailed = optionErrors.contains { error in
                    error.reason.hasPrefix("must be \"") && error.path.hasPrefix(path + "/") && !error.path.dropFirst(path.count + 1).contains("/")
                }
                let rank = (ofType ? 0 : 1, discriminatorFailed ? 1 : 0, optionErrors.count)
                if rank < firstRank { (firstErrors, firstRank, firstOfType) = (optionErrors, rank, ofType) }
            }
            let types = options.compactMap { $0["type"]?.stringValue }
            if passing == 0, !firstOfType, types.count == options.count {
                errors.append(ManifestError(path: path, reason: "expected \(types.joined(separator: " or ")), found \(Self.typeName(value))"))
            } else if passing == 0 {
                errors.append(contentsOf: firstErrors ?? [ManifestError(path: path, reason: "matches none of the allowed forms")])
            } else if passing > 1 {
                errors.append(ManifestError(path: path, reason: "matches more than one of the allowed forms"))
            }
        }
    }

    static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("null", .null), ("number", .number):
            return true
        case ("integer", .number(let n)):
            return Int64(n) != nil
        default:
            return false
        }
    }

    static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .object: return "object"
        case .array: return "array"
        case .string: return "string"
        case .number: return "number"
        case .bool: return "boolean"
        case .null: return "null"
        }
    }

    static func escape(_ key: String) -> String {
        key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}
