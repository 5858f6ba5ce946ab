// swift-tools-version: 6.2
import PackageDescription

/// libFuzzer targets for Tributary's readers of hostile input. Built and run by `scripts/fuzz.sh`,
/// which passes the sanitizer flags (`-sanitize=fuzzer`, address) and `-enable-testing`, so the
/// harnesses can reach internal entry points with `@testable import`.
let targets = ["json", "verify", "form", "manifest", "page", "cursor"]

let package = Package(
    name: "tributary-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "tributary", path: ".."),
    ],
    targets: [
        // Declares libFuzzer's LLVMFuzzerRunDriver, which each target's `main` hands control to.
        .target(name: "CFuzzDriver"),
        .target(
            name: "FuzzSupport",
            dependencies: ["CFuzzDriver", .product(name: "TributaryFuzzable", package: "tributary")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ] + targets.map { name in
        .executableTarget(
            name: "fuzz-\(name)",
            dependencies: ["FuzzSupport", .product(name: "TributaryFuzzable", package: "tributary")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    }
)
