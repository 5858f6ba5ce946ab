import Foundation
public import TributaryCore
import Yams

/// A provider ready to serve: its manifest with every pointer and template compiled once.
public struct Provider: Sendable {
    public let manifest: ProviderManifest
    public let verifier: WebhookVerifier?
    public let extractor: EventExtractor?
    /// The polled resources, compiled (so `providers validate` checks them too).
    public let pollResources: [PollResource]
    /// `api.fetch`, compiled; `nil` when the manifest cannot fetch one record.
    public let fetch: FetchResource?
    /// When the webhook event id is not covered by the signature: the retry horizon in microseconds
    /// within which a delivery with an already-held body digest counts as a duplicate. `nil` when the
    /// id is signed (or derived from the body), so the id alone dedupes.
    public let replayHorizon: Int64?
    /// Body fields holding secrets (the manifest's `redact`, and the client-state pointer): never shown.
    public let redactedPointers: [JSONPointer]

    public var id: String { manifest.id }

    init(manifest: ProviderManifest) throws(ManifestError) {
        self.manifest = manifest
        if let webhooks = manifest.webhooks {
            verifier = try WebhookVerifier(webhooks.verification)
            extractor = try EventExtractor(webhooks)
            replayHorizon = Self.idIsSigned(webhooks) ? nil : Int64(webhooks.retryHorizon ?? ProviderManifest.Webhooks.defaultRetryHorizon) * 1_000_000
            var redacted: [JSONPointer] = []
            for (i, text) in (webhooks.redact ?? []).enumerated() {
                guard let pointer = JSONPointer(text) else { throw ManifestError(path: "/webhooks/redact/\(i)", reason: "\"\(text)\" is not a JSON Pointer") }
                redacted.append(pointer)
            }
            if let text = webhooks.verification.clientState?.pointer, let pointer = JSONPointer(text) { redacted.append(pointer) }
            redactedPointers = redacted
        } else {
            verifier = nil
            extractor = nil
            replayHorizon = nil
            redactedPointers = []
        }
        var resources: [PollResource] = []
        for index in manifest.poll?.resources.indices ?? 0..<0 {
            resources.append(try PollResource(manifest: manifest, extractor: extractor, index: index))
        }
        let names = resources.map(\.name)
        if let duplicate = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw ManifestError(path: "/poll/resources", reason: "resource name \"\(duplicate)\" is used twice")
        }
        pollResources = resources
        fetch = try manifest.api?.fetch.map { spec throws(ManifestError) in try FetchResource(spec) }
        if let auth = manifest.api?.auth { try Self.checkOAuth(auth) }
        if let subscriptions = manifest.subscriptions { try Self.checkSubscriptions(subscriptions, manifest: manifest) }
    }

    /// A subscription section's templates and pointers, checked once at load.
    static func checkSubscriptions(_ spec: ProviderManifest.Subscriptions, manifest: ProviderManifest) throws(ManifestError) {
        guard manifest.api != nil, manifest.webhooks != nil else {
            throw ManifestError(path: "/subscriptions", reason: "subscriptions are made through api: and deliver to webhooks:; the manifest needs both")
        }
        let calls: [(String, ProviderManifest.Subscriptions.Call?)] = [
            ("create", spec.create), ("renew", spec.renew), ("delete", spec.delete), ("secret/call", spec.secret?.call),
        ]
        for (name, call) in calls {
            guard let call else { continue }
            for (part, text) in [("path", call.path), ("body", call.body)] {
                guard let text else { continue }
                if case .failure(let unknown) = ValueTemplate.parse(text, names: ValueTemplate.subscriptionNames) {
                    throw ManifestError(path: "/subscriptions/\(name)/\(part)", reason: "unknown placeholder {\(unknown.name)}; known: \(ValueTemplate.subscriptionNames.sorted().map { "{\($0)}" }.joined(separator: " "))")
                }
            }
            guard call.path.hasPrefix("/") else { throw ManifestError(path: "/subscriptions/\(name)/path", reason: "must be a path under the API base URL, starting with /") }
        }
        if name(spec.create.path + (spec.create.body ?? ""), uses: "subscription_id") {
            throw ManifestError(path: "/subscriptions/create", reason: "{subscription_id} is not known before the subscription is created")
        }
        let pointers: [(String, String?)] = [("id", spec.id), ("expiresAt", spec.expiresAt), ("secret/pointer", spec.secret?.pointer), ("lifecycle", spec.lifecycle), ("lifecycleId", spec.lifecycleId)]
        for (name, pointer) in pointers {
            guard let pointer else { continue }
            guard JSONPointer(pointer) != nil else { throw ManifestError(path: "/subscriptions/\(name)", reason: "\"\(pointer)\" is not a JSON Pointer") }
        }
        if let secret = spec.secret {
            if secret.source != .generate, secret.pointer == nil {
                throw ManifestError(path: "/subscriptions/secret/pointer", reason: "a secret from the provider needs the pointer where its answer holds it")
            }
            if (secret.source == .fetch) != (secret.call != nil) {
                throw ManifestError(path: "/subscriptions/secret/call", reason: secret.call == nil ? "source fetch needs the call that answers the secret" : "only source fetch takes a call")
            }
            if secret.source != .generate, name([spec.create, spec.renew, spec.delete].compactMap { $0 }.map { $0.path + ($0.body ?? "") }.joined(), uses: "secret") {
                throw ManifestError(path: "/subscriptions/secret/source", reason: "{secret} is sent only when Tributary generates it (source generate)")
            }
        }
        if spec.lifecycleId != nil, spec.lifecycle == nil {
            throw ManifestError(path: "/subscriptions/lifecycleId", reason: "names the subscription of a lifecycle notice, so it needs lifecycle too")
        }
        if let before = spec.renewBefore, before >= spec.lifetime ?? ProviderManifest.Subscriptions.defaultLifetime {
            throw ManifestError(path: "/subscriptions/renewBefore", reason: "must be shorter than lifetime, or every subscription is renewed at once")
        }
    }

    static func name(_ text: String, uses placeholder: String) -> Bool {
        (try? ValueTemplate.parse(text, names: ValueTemplate.subscriptionNames).get())?.placeholders.contains(placeholder) ?? false
    }

    /// The OAuth styles need their endpoints, each an absolute https URL (loopback http for a local
    /// provider or the simulator); the others take none.
    static func checkOAuth(_ auth: ProviderManifest.API.Auth) throws(ManifestError) {
        // Under a static style, auth.oauth is what a connection of an app given no token uses instead.
        let style: ProviderManifest.API.Auth.Style
        if auth.style.isOAuth {
            guard let oauth = auth.oauth else {
                throw ManifestError(path: "/api/auth/oauth", reason: "style \(auth.style.rawValue) needs auth.oauth with its tokenURL")
            }
            if oauth.style != nil {
                throw ManifestError(path: "/api/auth/oauth/style", reason: "only a manifest of a static style names the OAuth style its apps' connections use; this one is \(auth.style.rawValue) for every connection")
            }
            style = auth.style
        } else {
            guard let oauth = auth.oauth else { return }
            if auth.style == .none { throw ManifestError(path: "/api/auth/oauth", reason: "style none sends no credential; name the style its tokens are sent with") }
            style = oauth.style ?? .oauth2
            guard style == .oauth2 || style == .oauth2ClientCredentials else {
                throw ManifestError(path: "/api/auth/oauth/style", reason: "must be oauth2 or oauth2-client-credentials")
            }
        }
        guard let oauth = auth.oauth else { return }
        let urls: [(String, String?)] = [("authorizeURL", oauth.authorizeURL), ("tokenURL", oauth.tokenURL), ("revokeURL", oauth.revokeURL)]
        for (name, url) in urls {
            // A path is resolved against the connection's API base URL (a self-hosted provider, the simulator).
            guard let url, !url.hasPrefix("/") else { continue }
            let filled = url.replacingOccurrences(of: "{account}", with: "1")
            guard let components = URLComponents(string: filled), components.host?.isEmpty == false,
                  components.scheme == "https" || (components.scheme == "http" && ["127.0.0.1", "localhost", "[::1]", "::1"].contains(components.host ?? "")) else {
                throw ManifestError(path: "/api/auth/oauth/\(name)", reason: "\"\(url)\" is not an absolute https URL")
            }
            if url.contains("{account}") && !(style == .githubApp && name == "tokenURL") {
                throw ManifestError(path: "/api/auth/oauth/\(name)", reason: "only github-app's tokenURL takes {account}")
            }
        }
        if let pointer = oauth.account, JSONPointer(pointer) == nil {
            throw ManifestError(path: "/api/auth/oauth/account", reason: "\"\(pointer)\" is not a JSON Pointer")
        }
        if let refused = oauth.grantRefused, JSONPointer(refused.pointer) == nil {
            throw ManifestError(path: "/api/auth/oauth/grantRefused/pointer", reason: "\"\(refused.pointer)\" is not a JSON Pointer")
        }
        switch style {
        case .oauth2 where oauth.authorizeURL == nil:
            throw ManifestError(path: "/api/auth/oauth/authorizeURL", reason: "style oauth2 needs the URL where the customer approves access")
        case .githubApp where !oauth.tokenURL.contains("{account}"):
            throw ManifestError(path: "/api/auth/oauth/tokenURL", reason: "style github-app's tokenURL names the installation as {account}")
        default: break
        }
    }

    /// `body` as it may be shown: every field the manifest marks as a secret replaced by `"[redacted]"`.
    /// A body that is not JSON is shown only when nothing is marked, since its secrets cannot be found.
    public func redacted(body: [UInt8]) -> [UInt8]? {
        guard !redactedPointers.isEmpty else { return body }
        guard let document = JSONValue(parsing: body) else { return nil }
        let cleaned = redactedPointers.reduce(document) { $1.replacing(in: $0, with: .string("[redacted]")) }
        return Array(cleaned.jsonText.utf8)
    }

    /// Whether a forger who captured one signed delivery cannot change its event id.
    ///
    /// An id read from the body is signed when the scheme signs the body; one from a header only
    /// when the template signs `{id}` from that header; one from the query when the scheme signs the
    /// URL. An id derived from the body digest dedupes replays by itself.
    static func idIsSigned(_ webhooks: ProviderManifest.Webhooks) -> Bool {
        let id = webhooks.event.id
        let verification = webhooks.verification
        if id.derive == .bodySHA256 { return true }
        let template = verification.signedPayload ?? "{body}"
        let signsBody: Bool
        let signsURL: Bool
        switch verification.scheme {
        case .template: (signsBody, signsURL) = (template.contains("{body}"), template.contains("{url}"))
        case .twilio, .square, .hubspotV3: (signsBody, signsURL) = (true, true)
        case .token, .clientState, .mailgun, .basicAuth: (signsBody, signsURL) = (false, false)
        }
        if id.pointer != nil { return signsBody }
        if id.query != nil { return signsURL }
        if let headers = id.headers {
            guard verification.scheme == .template, template.contains("{id}"), let signed = verification.id?.headers else { return false }
            return Set(headers.map { $0.lowercased() }).isSubset(of: Set(signed.map { $0.lowercased() }))
        }
        return false
    }
}

/// Every provider manifest in a directory, validated against `Schemas/provider.schema.json`.
///
/// Two ways to load: ``load(directory:)`` is all-or-nothing (one bad manifest refuses the whole
/// catalog with every error found), for checks; ``loadValid(directory:)`` keeps the valid providers
/// and lists the invalid ones with their errors, for the service and the commands, so one broken
/// file is not an outage of every other provider.
public struct ManifestCatalog: Sendable {
    public let providers: [String: Provider]
    /// Providers whose manifest is invalid, by id (the file's name), with everything wrong in it:
    /// intake answers their webhooks 503 (providers retry), the reconciler leaves their events
    /// pending, and `providers list` shows them, until a fixed manifest is loaded.
    public let invalid: [String: ManifestErrors]

    public init(providers: [Provider], invalid: [String: ManifestErrors] = [:]) {
        self.providers = Dictionary(providers.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.invalid = invalid
    }

    /// Loads every `*.yaml` in `directory`, all or nothing.
    /// - Throws: ``ManifestErrors`` listing every problem in every file.
    public static func load(directory: String) throws(ManifestErrors) -> ManifestCatalog {
        let catalog = try loadValid(directory: directory)
        guard catalog.invalid.isEmpty else {
            throw ManifestErrors(errors: catalog.invalid.sorted { $0.key < $1.key }.flatMap(\.value.errors))
        }
        return catalog
    }

    /// Loads every valid `*.yaml` in `directory`; each invalid one is listed in ``invalid``.
    /// - Throws: ``ManifestErrors`` only when the directory cannot be read.
    public static func loadValid(directory: String) throws(ManifestErrors) -> ManifestCatalog {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
                .sorted()
                .map { (directory as NSString).appendingPathComponent($0) }
        } catch {
            throw ManifestErrors(errors: [ManifestError(file: directory, path: "", reason: "cannot read the providers directory")])
        }
        var providers: [Provider] = []
        var invalid: [String: ManifestErrors] = [:]
        for file in files {
            switch validate(file: file) {
            case .success(let provider): providers.append(provider)
            case .failure(let failure):
                invalid[stem(of: file), default: ManifestErrors(errors: [])].errors += failure.errors
            }
        }
        return ManifestCatalog(providers: providers, invalid: invalid)
    }

    /// Validates one manifest file: schema first, then what a schema cannot say (id matches the file
    /// name, pointers and templates compile).
    /// A manifest file's name without its directory and `.yaml`: the provider id it must hold.
    static func stem(of file: String) -> String {
        let name = file.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? file
        return name.hasSuffix(".yaml") ? String(name.dropLast(5)) : name
    }

    public static func validate(file: String) -> Result<Provider, ManifestErrors> {
        func fail(_ path: String, _ reason: String) -> Result<Provider, ManifestErrors> {
            .failure(ManifestErrors(errors: [ManifestError(file: file, path: path, reason: reason)]))
        }
        guard let data = FileManager.default.contents(atPath: file) else { return fail("", "cannot read the file") }
        guard let text = String(data: data, encoding: .utf8) else { return fail("", "not UTF-8") }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            // The parser's message spans lines (the source line and a caret under it): one line here, so that
            // `providers list` and logs keep one problem per line.
            let folded = "\(error)".split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && $0 != "^" }.joined(separator: "; ")
            return fail("", "not valid YAML: \(folded)")
        }
        guard let node else { return fail("", "empty document") }
        let json = jsonValue(node)
        let schemaErrors = schemaValidator.validate(json).map { ManifestError(file: file, path: $0.path, reason: $0.reason) }
        guard schemaErrors.isEmpty else { return .failure(ManifestErrors(errors: schemaErrors)) }

        let manifest: ProviderManifest
        do {
            manifest = try JSONDecoder().decode(ProviderManifest.self, from: Data(json.jsonText.utf8))
        } catch {
            return fail("", "does not decode as a manifest: \(error)")
        }
        let stem = stem(of: file)
        guard manifest.id == stem else { return fail("/id", "id \"\(manifest.id)\" must equal the file name \"\(stem)\"") }
        do {
            return .success(try Provider(manifest: manifest))
        } catch {
            return .failure(ManifestErrors(errors: [ManifestError(file: file, path: error.path, reason: error.reason)]))
        }
    }

    /// The manifest schema, embedded from `Schemas/provider.schema.json` (see `scripts/embed-schema.sh`).
    static let schemaValidator: JSONSchemaValidator = {
        guard let schema = JSONValue(parsing: Array(ProviderSchema.json.utf8)) else {
            fatalError("the embedded provider schema is not JSON; rerun scripts/embed-schema.sh")
        }
        return JSONSchemaValidator(schema: schema)
    }()

    /// The schema text this binary validates against.
    public static var schemaText: String { ProviderSchema.json }

    /// Converts a YAML node to JSON, resolving scalars by their YAML 1.2 core tags.
    static func jsonValue(_ node: Node) -> JSONValue {
        switch node {
        case .mapping(let mapping):
            return .object(mapping.map { (key: $0.key.string ?? "", value: jsonValue($0.value)) })
        case .sequence(let sequence):
            return .array(sequence.map(jsonValue))
        case .scalar(let scalar):
            switch node.tag.description {
            case "tag:yaml.org,2002:null": return .null
            case "tag:yaml.org,2002:bool": return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case "tag:yaml.org,2002:int": return node.int.map { .number(String($0)) } ?? .string(scalar.string)
            case "tag:yaml.org,2002:float": return node.float.map { .number(String($0)) } ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .alias:
            return .null
        }
    }
}

extension ManifestCatalog {
    /// A YAML (or JSON, YAML's subset) document read as JSON, for the operator's other YAML files
    /// (an app's credentials); `nil` when it does not parse.
    public static func yamlDocument(_ text: String) -> JSONValue? {
        guard let node = try? Yams.compose(yaml: text) else { return nil }
        return jsonValue(node)
    }
}
