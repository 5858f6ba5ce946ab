import Testing
import TributaryCore

@Suite("Core values")
struct CoreTests {
    @Test("JSON numbers keep their literal: ids beyond 2^53 survive")
    func losslessNumbers() throws {
        let value = try #require(JSONValue(parsing: Array(#"{"id":820982911946154508,"f":1.50,"s":"\u00e9\ud83d\ude00"}"#.utf8)))
        #expect(value["id"]?.stringValue == "820982911946154508")
        #expect(value["f"]?.stringValue == "1.50")
        #expect(value["s"]?.stringValue == "é😀")
        #expect(JSONValue(parsing: Array(value.jsonText.utf8)) == value)
    }

    @Test("malformed JSON is refused", arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "\"\\x\"", "nul", "{} {}", "\"\u{01}\""])
    func malformed(text: String) {
        #expect(JSONValue(parsing: Array(text.utf8)) == nil)
    }

    @Test("JSON Pointer resolves RFC 6901 paths and * over arrays")
    func pointer() throws {
        let doc = try #require(JSONValue(parsing: Array(#"{"a/b":{"~c":[{"x":1},{"x":2}]},"":0}"#.utf8)))
        #expect(JSONPointer("/a~1b/~0c/1/x")?.resolve(in: doc) == .number("2"))
        #expect(JSONPointer("/a~1b/~0c/*/x")?.all(in: doc) == [.number("1"), .number("2")])
        #expect(JSONPointer("/a~1b/~0c/2/x")?.resolve(in: doc) == nil)
        #expect(JSONPointer("/a~1b/~0c/01")?.resolve(in: doc) == nil, "leading zeros are not indices")
        #expect(JSONPointer("no-slash") == nil)
        #expect(JSONPointer("")?.resolve(in: doc) == doc)
    }

    @Test("RFC 3339 parses to microseconds and formats back", arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2026-11-20T10:00:00.123456Z", Int64(1_795_168_800_123_456)),
        ("2026-11-20T10:00:00.1Z", Int64(1_795_168_800_100_000)),
        ("2026-11-20T05:00:00-05:00", Int64(1_795_168_800_000_000)),
        ("2026-11-20 10:00:00Z", Int64(1_795_168_800_000_000)),
        ("1969-12-31T23:59:59Z", Int64(-1_000_000)),
        // ISO 8601's basic offset, as Salesforce and Jira write it.
        ("2026-11-20T10:00:00.000+0000", Int64(1_795_168_800_000_000)),
        ("2026-11-20T15:30:00.000+0530", Int64(1_795_168_800_000_000)),
    ])
    func rfc3339(text: String, micros: Int64) {
        #expect(Timestamp.microseconds(rfc3339: text) == micros)
        #expect(Timestamp.microseconds(rfc3339: Timestamp.rfc3339(microseconds: micros)) == micros)
    }

    @Test("not RFC 3339", arguments: [
        "2026-11-20", "2026-11-20T10:00:00", "2026-13-01T00:00:00Z", "2026-11-20T10:00:00.Z", "2015-05-17 17:06:40 UTC",
        "2026-11-20T10:00:00+00", "2026-11-20T10:00:00+000", "2026-11-20T10:00:00+00000", "2026-11-20T10:00:00+2400", "2026-11-20T10:00:00+0060",
        "2026-11-20T10:00:00+00:0", "2026-11-20T10:00:00+0a00",
    ])
    func notRFC3339(text: String) {
        #expect(Timestamp.microseconds(rfc3339: text) == nil)
    }
}
