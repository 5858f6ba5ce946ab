import FuzzSupport
import TributaryCore

/// The JSON reader: any bytes either fail to parse or parse to a value whose serialisation reads
/// back as the same value; pointers over it never trap.
@main
enum FuzzJSON {
    static let pointers = ["", "/id", "/data/object/id", "/value/*/clientState", "/items/0", "/*/*", "/a~1b/~0"].map { JSONPointer($0)! }

    static func main() {
        Fuzz.run { bytes in
            guard let value = JSONValue(parsing: bytes) else { return }
            let text = value.jsonText
            guard let again = JSONValue(parsing: Array(text.utf8)) else {
                preconditionFailure("jsonText does not parse back: \(text.debugDescription)")
            }
            precondition(again == value, "jsonText reads back as another value: \(text.debugDescription)")
            precondition(again.jsonText == text, "jsonText is not stable: \(text.debugDescription)")
            _ = value.stringValue
            _ = value.int64Value
            _ = value.doubleValue
            for pointer in pointers {
                _ = pointer.all(in: value)
            }
            // Every member name and string in the document, as a pointer token path.
            if case .object(let members) = value, let first = members.first,
               let pointer = JSONPointer("/" + first.key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")) {
                precondition(pointer.resolve(in: value) == first.value, "pointer to the first member misses it: \(pointer)")
            }
        }
    }
}
