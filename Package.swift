// swift-tools-version: 6.2
import PackageDescription

/// Settings every Tributary target shares: Swift 6 mode, strict concurrency,
/// the upcoming features STYLE.md §11 asks for, warnings as errors (ours only).
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "tributary",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tributary", targets: ["tributary"]),
        .executable(name: "tributary-sim", targets: ["tributary-sim"]),
        // For the fuzz targets in Fuzz/ (scripts/fuzz.sh), a package that depends on this one by path.
        .library(name: "TributaryFuzzable", targets: ["TributaryCore", "TributaryProviders", "TributaryUpstream", "TributaryPolling", "TributaryAPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        .target(
            name: "TributaryCore",
            swiftSettings: strict
        ),
        .target(
            name: "TributaryProviders",
            dependencies: [
                "TributaryCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TributaryTelemetry",
            dependencies: [.product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: strict
        ),
        .target(
            name: "TributaryStore",
            dependencies: [
                "TributaryCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The writer's WAL hook (Checkpointer) is SQLite's C API, which GRDB does not wrap.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The store on PostgreSQL: the same facets as TributaryStore's SQLite store, for several nodes.
        .target(
            name: "TributaryPostgres",
            dependencies: [
                "TributaryCore",
                "TributaryStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TributaryScheduling",
            dependencies: [
                "TributaryCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TributaryUpstream",
            dependencies: [
                "TributaryTelemetry",
                "TributaryCore",
                "TributaryProviders",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TributaryPolling",
            dependencies: [
                "TributaryTelemetry",
                "TributaryCore",
                "TributaryProviders",
                "TributaryStore",
                "TributaryScheduling",
                "TributaryUpstream",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TributaryReconcile",
            dependencies: [
                "TributaryTelemetry",
                "TributaryCore",
                "TributaryProviders",
                "TributaryStore",
                "TributaryScheduling",
                "TributaryUpstream",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TributaryIntake",
            dependencies: [
                "TributaryTelemetry",
                "TributaryCore",
                "TributaryProviders",
                "TributaryStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TributaryAPI",
            dependencies: [
                "TributaryCore",
                "TributaryStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TributaryDelivery",
            dependencies: [
                "TributaryTelemetry",
                "TributaryCore",
                "TributaryStore",
                "TributaryScheduling",
                // Its outbound guard and transport: deliveries go only where upstream calls may.
                "TributaryUpstream",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TributaryRuntime",
            dependencies: [
                "TributaryTelemetry",
                "TributaryCore",
                "TributaryProviders",
                "TributaryStore",
                "TributaryAPI",
                "TributaryIntake",
                "TributaryPolling",
                "TributaryReconcile",
                "TributaryScheduling",
                "TributaryUpstream",
                "TributaryDelivery",
                // Only for `tributary demo`, which runs a simulated provider against a real engine.
                "ProviderSimulator",
                // RS256 (RSA PKCS#1 v1.5) for GitHub App JWTs: swift-crypto's extras, no new package.
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TributaryCLI",
            // Runtime is the CLI's only door to the engine (DESIGN.md §4); Core for values.
            dependencies: [
                "TributaryCore",
                "TributaryRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "tributary",
            dependencies: ["TributaryCLI"],
            swiftSettings: strict
        ),
        .target(
            name: "ProviderSimulator",
            dependencies: [
                "TributaryCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                // Verifies GitHub App JWTs (RS256) at the simulated installation-token endpoint.
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "tributary-sim",
            dependencies: [
                "ProviderSimulator",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The fault-injecting SQLite VFS of the tests and benchmarks (power cuts, failing fsync, full disk, locks).
        .target(
            name: "TributaryFaultVFS",
            linkerSettings: [.linkedLibrary("sqlite3")]
        ),
        // The light test kit: temp dirs, fixtures, the signer, the fault VFS (DESIGN.md §4).
        .target(
            name: "TributaryTesting",
            dependencies: [
                "TributaryFaultVFS",
                "TributaryCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        // The integration kit beside it: the engine in-process, `serve` as a child process, the simulator.
        .target(
            name: "TributaryIntegrationTesting",
            dependencies: [
                "TributaryTesting",
                "TributaryCore",
                "TributaryProviders",
                "TributaryStore",
                "TributaryPostgres",
                "TributaryRuntime",
                "TributaryIntake",
                "TributaryUpstream",
                "TributaryPolling",
                "TributaryDelivery",
                "ProviderSimulator",
                // A GitHub App's RSA key pair for the installation-token tests.
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TributaryTests",
            dependencies: [
                "TributaryCore",
                "TributaryProviders",
                "TributaryStore",
                "TributaryPostgres",
                "TributaryIntake",
                "TributaryRuntime",
                "TributaryTesting",
                "TributaryIntegrationTesting",
                "TributaryReconcile",
                "TributaryScheduling",
                "TributaryAPI",
                "TributaryFaultVFS",
                "TributaryDelivery",
                "TributaryUpstream",
                "ProviderSimulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                // The PostgreSQL store's own tests (durability refusals, migrations racing) set up databases.
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // The OpenAPI conformance test reads Schemas/openapi.yaml.
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        // The tests that run the built `tributary` (CLI, crash recovery, serve): the only target that depends on the executable.
        .testTarget(
            name: "TributaryEndToEndTests",
            dependencies: [
                "TributaryCore",
                "TributaryProviders",
                "TributaryStore",
                "TributaryScheduling",
                "TributaryUpstream",
                "TributaryPolling",
                "TributaryAPI",
                "TributaryRuntime",
                "TributaryTesting",
                "TributaryIntegrationTesting",
                "TributaryDelivery",
                "ProviderSimulator",
                "tributary",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "tributary-bench-poll",
            dependencies: [
                "TributaryCore",
                "TributaryProviders",
                "TributaryStore",
                "TributaryScheduling",
                "TributaryPolling",
                "TributaryUpstream",
                "TributaryTesting",
                "TributaryIntegrationTesting",
                "ProviderSimulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/poll",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "tributary-bench-reconcile",
            dependencies: [
                "TributaryCore",
                "TributaryProviders",
                "TributaryStore",
                "TributaryScheduling",
                "TributaryPolling",
                "TributaryReconcile",
                "TributaryRuntime",
                "TributaryTesting",
                "TributaryIntegrationTesting",
                "ProviderSimulator",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/reconcile",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "tributary-bench-intake",
            dependencies: [
                "TributaryCore",
                "TributaryProviders",
                "TributaryStore",
                "TributaryRuntime",
                "TributaryTesting",
                "TributaryIntegrationTesting",
                "TributaryIntake",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/intake",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "tributary-bench-contention",
            dependencies: [
                "TributaryCore",
                "TributaryStore",
                "TributaryScheduling",
                "TributaryRuntime",
                "TributaryTesting",
                "TributaryIntegrationTesting",
                "TributaryReconcile",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/contention",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "tributary-bench-delivery",
            dependencies: [
                "TributaryCore",
                "TributaryDelivery",
                "TributaryIntegrationTesting",
                "TributaryPolling",
                "TributaryProviders",
                "TributaryReconcile",
                "TributaryScheduling",
                "TributaryStore",
                "TributaryTesting",
                "TributaryUpstream",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/delivery",
            swiftSettings: strict
        ),
    ]
)
