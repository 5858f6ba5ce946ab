import Foundation
@testable import TributaryProviders
import TributaryCore

/// Inputs that reach a trap already known and being fixed, so a run can go on finding new ones.
///
/// Each check names the input shape exactly; a harness skips only the call that would trap.
/// Set `FUZZ_KNOWN_BUGS=trap` to turn them all off once the fixes land (and then delete them).
public enum KnownBugs {
    public static let skip = ProcessInfo.processInfo.environment["FUZZ_KNOWN_BUGS"] != "trap"

    /// `TimeFormat.microseconds` converts with `Int64(Double)` and multiplies without overflow checks
    /// (ProviderManifest.swift): "1e300", or 10^13 unix seconds, traps.
    public static func timeFormatTraps(_ text: String, _ format: ProviderManifest.TimeFormat) -> Bool {
        guard skip else { return false }
        let scale: Int64
        switch format {
        case .unixSeconds: scale = 1_000_000
        case .unixMilliseconds: scale = 1000
        case .integer, .rfc3339: return false
        }
        if let whole = Int64(text) { return whole.multipliedReportingOverflow(by: scale).overflow }
        guard let value = Double(text) else { return false }
        let scaled = (value * Double(scale)).rounded()
        return !(scaled.isFinite && scaled >= -0x1p63 && scaled < 0x1p63)
    }

    /// Manifest integers are unbounded: `lookback` or `lag` seconds past Int64.max / 10^6 trap in
    /// PollResource.swift (`Int64(...) * 1_000_000`).
    public static func manifestIntegerTraps(_ manifest: ProviderManifest) -> Bool {
        guard skip else { return false }
        for resource in manifest.poll?.resources ?? [] {
            for seconds in [resource.cursor.lookback, resource.cursor.lag].compactMap({ $0 })
            where Int64(seconds).multipliedReportingOverflow(by: 1_000_000).overflow {
                return true
            }
        }
        return false
    }

    /// Whether `extractor.extract(request)` would reach ``timeFormatTraps(_:_:)``: reads the
    /// occurred-at and record-version values the way EventExtractor.extract does.
    public static func extractionTraps(_ extractor: EventExtractor, _ request: WebhookRequest) -> Bool {
        guard skip else { return false }
        let document = EventExtractor.document(request)
        func read(_ name: String, _ source: ProviderManifest.ValueSource?) -> String? {
            guard let source else { return nil }
            if let headers = source.headers { return request.firstHeader(headers)?.value }
            if let query = source.query { return request.queryParameter(query) }
            if let pointer = extractor.pointers[name] { return document.flatMap { pointer.resolve(in: $0)?.stringValue } }
            return nil
        }
        let fields = extractor.fields
        if let text = read("occurredAt", fields.occurredAt), timeFormatTraps(text, fields.occurredAt?.format ?? .rfc3339) {
            return true
        }
        if let type = read("type", fields.type), let document,
           let compiled = extractor.rules.first(where: { EventExtractor.matches(type, $0.rule.match) }),
           let pointer = compiled.version, let value = pointer.resolve(in: document)?.stringValue,
           timeFormatTraps(value, compiled.rule.version?.format ?? .integer) {
            return true
        }
        return false
    }

    /// Whether `resource.parse` would reach ``timeFormatTraps(_:_:)`` on an item's updatedAt or version.
    public static func pageTraps(_ resource: PollResource, _ document: JSONValue) -> Bool {
        guard skip else { return false }
        let spec = resource.spec
        guard case .array(let elements)? = JSONPointer(spec.items)?.resolve(in: document) else { return false }
        if spec.events == true, let extractor = Fuzz.providers.first(where: { $0.id == resource.provider })?.extractor {
            return elements.contains { element in
                extractionTraps(extractor, WebhookRequest(method: "GET", url: "", headers: [], body: Array(element.jsonText.utf8)))
            }
        }
        let timed = [spec.updatedAt.map { ($0.pointer, $0.format) }, spec.version.map { ($0.pointer, $0.format) }].compactMap { $0 }
        for element in elements {
            for (text, format) in timed {
                if let value = JSONPointer(text)?.resolve(in: element)?.stringValue, timeFormatTraps(value, format) { return true }
            }
        }
        return false
    }

    /// Found by fuzz-cursor: `Timestamp.rfc3339(microseconds:)` overflows (`seconds * 1_000_000`,
    /// Timestamp.swift:61) below -9_223_372_036_854_000_000 µs, so a cursor whose `since` is there (an
    /// item with updatedAt near Int64.min, or a stored watermark there) traps building the next request.
    public static func requestTraps(_ resource: PollResource, _ cursor: PollCursor) -> Bool {
        guard skip else { return false }
        let since = resource.machine.request(cursor).since
        return since.map { $0 < -9_223_372_036_854_000_000 } ?? false
    }
}
