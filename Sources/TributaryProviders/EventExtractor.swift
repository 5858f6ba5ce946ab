public import TributaryCore

/// What a verified delivery says about itself, read through the manifest.
public struct ExtractedEvent: Sendable, Equatable {
    public var eventId: String
    public var type: String?
    public var occurredAt: Int64?
    public var account: String?
    public var record: RecordRef?
}

/// Why a verified delivery could not be read.
public struct ExtractionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// Reads event id, type, occurred-at, account key and record reference from a verified request.
///
/// Runs only after verification: the body is trusted bytes by then. JSON bodies are
/// read with JSON Pointers; form bodies (Twilio, Slack commands) expose each field
/// as a top-level member, so `/CallSid` reads the `CallSid` field.
public struct EventExtractor: Sendable {
    let fields: ProviderManifest.EventFields
    let rules: [CompiledRule]
    let pointers: [String: JSONPointer]
    /// Where a batched delivery's events are (`webhooks.batch`); `nil`: one event per delivery.
    public let batch: JSONPointer?

    struct CompiledRule: Sendable {
        var rule: ProviderManifest.RecordRule
        var recordId: JSONPointer
        var version: JSONPointer?
        var deletedWhen: JSONPointer?
    }

    init(_ webhooks: ProviderManifest.Webhooks) throws(ManifestError) {
        fields = webhooks.event
        var pointers: [String: JSONPointer] = [:]
        let sources: [(String, ProviderManifest.ValueSource?)] = [
            ("id", fields.id), ("type", fields.type), ("occurredAt", fields.occurredAt), ("account", fields.account),
        ]
        for (name, source) in sources {
            if let text = source?.pointer {
                guard let pointer = JSONPointer(text) else { throw ManifestError(path: "/webhooks/event/\(name)/pointer", reason: "\"\(text)\" is not a JSON Pointer") }
                pointers[name] = pointer
            }
        }
        self.pointers = pointers
        if let text = webhooks.batch {
            guard let pointer = JSONPointer(text) else { throw ManifestError(path: "/webhooks/batch", reason: "\"\(text)\" is not a JSON Pointer") }
            batch = pointer
        } else {
            batch = nil
        }
        var rules: [CompiledRule] = []
        for (i, rule) in (webhooks.records ?? []).enumerated() {
            guard let recordId = JSONPointer(rule.recordId) else {
                throw ManifestError(path: "/webhooks/records/\(i)/recordId", reason: "\"\(rule.recordId)\" is not a JSON Pointer")
            }
            var version: JSONPointer?
            if let text = rule.version?.pointer {
                guard let parsed = JSONPointer(text) else { throw ManifestError(path: "/webhooks/records/\(i)/version/pointer", reason: "\"\(text)\" is not a JSON Pointer") }
                version = parsed
            }
            var deletedWhen: JSONPointer?
            if let text = rule.deletedWhen?.pointer {
                guard let parsed = JSONPointer(text) else { throw ManifestError(path: "/webhooks/records/\(i)/deletedWhen/pointer", reason: "\"\(text)\" is not a JSON Pointer") }
                deletedWhen = parsed
            }
            rules.append(CompiledRule(rule: rule, recordId: recordId, version: version, deletedWhen: deletedWhen))
        }
        self.rules = rules
    }

    /// The parsed body: JSON, or a form turned into a flat object; `nil` when it is neither.
    public static func document(_ request: WebhookRequest) -> JSONValue? {
        if request.isFormEncoded {
            return .object(FormCoding.pairs(request.body).map { (key: $0.name, value: .string($0.value)) })
        }
        return JSONValue(parsing: request.body)
    }

    /// A batched delivery's events, each as a delivery of its own (the request's method, URL and
    /// headers, the element's JSON as the body); `nil` when the manifest has no `batch`.
    /// - Returns: `.failure` when the body holds no array where `batch` points.
    public func elements(_ request: WebhookRequest) -> Result<[WebhookRequest], ExtractionError>? {
        guard let batch else { return nil }
        guard let document = JSONValue(parsing: request.body), case .array(let elements)? = batch.resolve(in: document) else {
            return .failure(ExtractionError(reason: "no array of events at \(batch.description.isEmpty ? "the root" : batch.description)"))
        }
        return .success(elements.map { WebhookRequest(method: request.method, url: request.url, headers: request.headers, body: Array($0.jsonText.utf8)) })
    }

    public func extract(_ request: WebhookRequest) -> Result<ExtractedEvent, ExtractionError> {
        let document = Self.document(request)
        func read(_ name: String, _ source: ProviderManifest.ValueSource?) -> String? {
            guard let source else { return nil }
            if let headers = source.headers { return request.firstHeader(headers)?.value }
            if let query = source.query { return request.queryParameter(query) }
            if let pointer = pointers[name] { return document.flatMap { pointer.resolve(in: $0)?.stringValue } }
            return nil
        }
        let eventId: String
        if let id = read("id", fields.id), !id.isEmpty {
            eventId = EventID.provider(id)
        } else if fields.id.derive == .bodySHA256 || fields.id.fallback == .bodySHA256 {
            eventId = "sha256:" + request.contentSHA256
        } else {
            return .failure(ExtractionError(reason: "event id not found in the delivery"))
        }
        if fields.id.pointer != nil || fields.type?.pointer != nil, document == nil {
            return .failure(ExtractionError(reason: "body is neither JSON nor a form"))
        }
        let type = read("type", fields.type)
        var occurredAt: Int64?
        if let text = read("occurredAt", fields.occurredAt) {
            switch (fields.occurredAt?.format ?? .rfc3339).read(text) {
            case .success(let value): occurredAt = value
            case .failure(.outOfRange): return .failure(ExtractionError(reason: "occurred-at \(ExternalNumber.Invalid.outOfRange(text))"))
            // A time in another format than the manifest says is not worth refusing the event for.
            case .failure(.notANumber): occurredAt = nil
            }
        }
        let account = read("account", fields.account)
        var record: RecordRef?
        if let type, let document, let compiled = rules.first(where: { Self.matches(type, $0.rule.match) }),
           let recordId = compiled.recordId.resolve(in: document)?.stringValue {
            var version: Int64?
            if let pointer = compiled.version, let value = pointer.resolve(in: document)?.stringValue {
                switch (compiled.rule.version?.format ?? .integer).read(value) {
                case .success(let parsed): version = parsed
                case .failure(.outOfRange): return .failure(ExtractionError(reason: "version \(ExternalNumber.Invalid.outOfRange(value))"))
                // No version means the reconciler fetches the record's state: safe for a value it cannot order.
                case .failure(.notANumber): version = nil
                }
            }
            var deleted = compiled.rule.deleted ?? false
            if let pointer = compiled.deletedWhen, let value = pointer.resolve(in: document)?.stringValue,
               compiled.rule.deletedWhen?.equals.contains(value) == true {
                deleted = true
            }
            record = RecordRef(
                recordType: compiled.rule.recordType, recordId: recordId, version: version,
                deleted: deleted, fullState: compiled.rule.full ?? false
            )
        }
        return .success(ExtractedEvent(eventId: eventId, type: type, occurredAt: occurredAt, account: account, record: record))
    }

    /// The record state inside a delivery of `type`: the matching rule's `state` pointer applied to the body
    /// (the whole body when the rule names none); `nil` when no rule matches or the body is not JSON.
    public func recordState(type: String?, body: [UInt8]) -> [UInt8]? {
        guard let type, let rule = rules.first(where: { Self.matches(type, $0.rule.match) })?.rule,
              let document = JSONValue(parsing: body) else { return nil }
        guard let text = rule.state, !text.isEmpty else { return body }
        return JSONPointer(text).flatMap { $0.resolve(in: document) }.map { Array($0.jsonText.utf8) }
    }

    /// Exact names, or globs with one leading or trailing `*`.
    static func matches(_ type: String, _ patterns: [String]) -> Bool {
        patterns.contains { pattern in
            if pattern == "*" { return true }
            if pattern.hasSuffix("*") { return type.hasPrefix(pattern.dropLast()) }
            if pattern.hasPrefix("*") { return type.hasSuffix(pattern.dropFirst()) }
            return type == pattern
        }
    }
}
