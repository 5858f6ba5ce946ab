import Testing
import TributaryCore
import TributaryIntake
import TributaryRuntime
import TributaryStore

/// `serve`'s settings from flags and the environment: each wrong value is refused with one sentence
/// naming the flag or variable at fault, before anything opens or listens.
@Suite("Configuration")
struct ConfigurationTests {
    /// A hostile value: flags changed from the defaults, an environment, and the setting the error must name.
    struct Case: Sendable, CustomTestStringConvertible {
        var flags: @Sendable (inout ServeFlags) -> Void = { _ in }
        var environment: [String: String] = [:]
        var names: String
        var testDescription: String { names + " " + environment.values.joined(separator: ",") }
    }

    static let hostile: [Case] = [
        Case(flags: { $0.port = -1 }, names: "--port"),
        Case(flags: { $0.port = 65_536 }, names: "--port"),
        Case(flags: { $0.maxBody = 0 }, names: "--max-body"),
        Case(flags: { $0.bodyTimeout = -5 }, names: "--body-timeout"),
        Case(flags: { $0.maxWaitingEvents = 0 }, names: "--max-waiting-events"),
        Case(flags: { $0.maxWaitingBytes = Int.min }, names: "--max-waiting-bytes"),
        Case(flags: { $0.publicURL = "not a url" }, names: "--public-url"),
        Case(environment: ["TRIBUTARY_MAX_BODY": "lots"], names: "TRIBUTARY_MAX_BODY"),
        Case(environment: ["TRIBUTARY_MAX_BODY": "99999999999999999999999"], names: "TRIBUTARY_MAX_BODY"),
        Case(environment: ["TRIBUTARY_BODY_TIMEOUT": "0"], names: "TRIBUTARY_BODY_TIMEOUT"),
        Case(environment: ["TRIBUTARY_BODY_TIMEOUT": "-1"], names: "TRIBUTARY_BODY_TIMEOUT"),
        Case(environment: ["TRIBUTARY_PUBLIC_URL": "hooks.example.com"], names: "TRIBUTARY_PUBLIC_URL"),
        Case(environment: ["TRIBUTARY_ADMIN_TOKEN": "short"], names: "TRIBUTARY_ADMIN_TOKEN"),
        Case(environment: ["TRIBUTARY_ADMIN_TOKEN": "a token with spaces in it"], names: "TRIBUTARY_ADMIN_TOKEN"),
        Case(environment: ["TRIBUTARY_ADMIN_TOKEN": "0123456789abcdef\u{7f}"], names: "TRIBUTARY_ADMIN_TOKEN"),
        Case(environment: ["TRIBUTARY_DB_BUSY_TIMEOUT_MS": "5s"], names: "TRIBUTARY_DB_BUSY_TIMEOUT_MS"),
        Case(environment: ["TRIBUTARY_INTAKE_MAX_WAITING_EVENTS": "-10"], names: "TRIBUTARY_INTAKE_MAX_WAITING_EVENTS"),
        Case(environment: ["TRIBUTARY_INTAKE_MAX_WAITING_BYTES": "1e9"], names: "TRIBUTARY_INTAKE_MAX_WAITING_BYTES"),
        Case(environment: ["TRIBUTARY_ALLOW_PRIVATE_UPSTREAMS": "maybe"], names: "TRIBUTARY_ALLOW_PRIVATE_UPSTREAMS"),
        Case(environment: ["LOG_LEVEL": "verbose"], names: "LOG_LEVEL"),
        Case(environment: ["TRIBUTARY_DESTINATION_DISABLE_AFTER_HOURS": "0"], names: "TRIBUTARY_DESTINATION_DISABLE_AFTER_HOURS"),
        Case(environment: ["TRIBUTARY_DESTINATION_DISABLE_AFTER_HOURS": "5d"], names: "TRIBUTARY_DESTINATION_DISABLE_AFTER_HOURS"),
        Case(environment: ["TRIBUTARY_DESTINATION_DISABLE_AFTER_HOURS": "9223372036854775807"], names: "TRIBUTARY_DESTINATION_DISABLE_AFTER_HOURS"),
        Case(environment: ["TRIBUTARY_DELIVERY_RETENTION_HOURS": "-1"], names: "TRIBUTARY_DELIVERY_RETENTION_HOURS"),
        Case(environment: ["TRIBUTARY_DELIVERY_RETENTION_HOURS": "87601"], names: "TRIBUTARY_DELIVERY_RETENTION_HOURS"),
        Case(environment: ["TRIBUTARY_DEAD_DELIVERY_RETENTION_HOURS": "a week"], names: "TRIBUTARY_DEAD_DELIVERY_RETENTION_HOURS"),
    ]

    @Test("a wrong flag or variable is refused with one sentence naming it", arguments: hostile)
    func refused(_ hostile: Case) {
        var flags = ServeFlags()
        hostile.flags(&flags)
        #expect {
            _ = try EngineConfiguration.resolve(flags, environment: hostile.environment)
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.message.contains(hostile.names) && !error.message.contains("\n")
        }
    }

    @Test("flags win over variables, variables over defaults; empty variables count as unset")
    func precedence() throws {
        var flags = ServeFlags()
        flags.maxBody = 2048
        flags.port = 0
        let environment = [
            "TRIBUTARY_MAX_BODY": "4096", "TRIBUTARY_BODY_TIMEOUT": "7", "TRIBUTARY_ADMIN_TOKEN": "",
            "TRIBUTARY_DB": "/tmp/from-env.db", "TRIBUTARY_ALLOW_PRIVATE_UPSTREAMS": "yes", "TRIBUTARY_DB_BUSY_TIMEOUT_MS": "250",
        ]
        let configuration = try EngineConfiguration.resolve(flags, environment: environment)
        #expect(configuration.intake.maxBodyBytes == 2048)
        #expect(configuration.intake.bodyTimeout == .seconds(7))
        #expect(configuration.adminToken == nil)
        #expect(configuration.databasePath == "/tmp/from-env.db")
        #expect(configuration.allowPrivateUpstreams)
        #expect(configuration.store.busyTimeout == .milliseconds(250))
        #expect(configuration.port == 0)
        let defaults = try EngineConfiguration.resolve(ServeFlags(), environment: [:])
        #expect(defaults.intake.maxBodyBytes == 1 << 20 && defaults.port == 8080 && !defaults.allowPrivateUpstreams)
        #expect(defaults.destinationDisableAfter == 5 * 86_400 * 1_000_000)
        #expect(try EngineConfiguration.resolve(ServeFlags(), environment: ["TRIBUTARY_DESTINATION_DISABLE_AFTER_HOURS": "2"]).destinationDisableAfter == 7_200_000_000)
        let retention = try EngineConfiguration.resolve(
            ServeFlags(), environment: ["TRIBUTARY_DELIVERY_RETENTION_HOURS": "24", "TRIBUTARY_DEAD_DELIVERY_RETENTION_HOURS": "2160"]
        ).deliveryRetention
        #expect(retention == DeliveryRetention(delivered: 86_400_000_000, dead: 2160 * 3_600_000_000))
        #expect(try EngineConfiguration.resolve(ServeFlags(), environment: [:]).deliveryRetention == DeliveryRetention())
    }
}
