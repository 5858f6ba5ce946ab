import Foundation
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryTesting

/// The built `tributary` binary, run as an operator would, including expected failures.
@Suite("CLI")
struct CLITests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// `tributary ARGS` in `directory` (database `cli.db` there), with `environment` on top.
    static func run(_ arguments: [String], in directory: URL, environment overrides: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPaths.tributaryBinary)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["TRIBUTARY_DB"] = directory.appendingPathComponent("cli.db").path
        environment["TRIBUTARY_PROVIDERS"] = TestPaths.providers
        environment["TRIBUTARY_MASTER_KEY"] = nil
        environment["LOG_LEVEL"] = nil
        for (name, value) in overrides { environment[name] = value }
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test("a broken manifest makes providers validate exit 2 naming the file and the path of each error")
    func brokenManifest() throws {
        let directory = try TestPaths.temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try String(contentsOfFile: TestPaths.providers + "/github.yaml", encoding: .utf8)
        let broken = original
            .replacingOccurrences(of: "scheme: template", with: "scheme: nonsense")
            .replacingOccurrences(of: "name: GitHub", with: "name: GitHub\ncolour: blue")
        #expect(broken != original)
        let file = directory.appendingPathComponent("github.yaml").path
        try broken.write(toFile: file, atomically: true, encoding: .utf8)

        let result = try Self.run(["providers", "validate", file], in: directory)
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(file): /colour: unknown key"), "stderr: \(result.stderr)")
        #expect(result.stderr.contains("\(file): /webhooks/verification"), "stderr: \(result.stderr)")

        let json = try Self.run(["providers", "validate", "--json", file], in: directory)
        #expect(json.status == 2)
        let report = try #require(JSONValue(parsing: Array(json.stdout.utf8)))
        #expect(report["valid"] == .bool(false))
        guard case .array(let errors)? = report["errors"] else { Issue.record("no errors array"); return }
        #expect(errors.count >= 2)
        #expect(errors.allSatisfy { $0["file"]?.stringValue == file && $0["path"]?.stringValue?.hasPrefix("/") == true })
    }

    @Test("a manifest whose id differs from its file name, or that is not YAML, is refused")
    func semanticErrors() throws {
        let directory = try TestPaths.temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let renamed = directory.appendingPathComponent("other.yaml").path
        try FileManager.default.copyItem(atPath: TestPaths.providers + "/stripe.yaml", toPath: renamed)
        let notYAML = directory.appendingPathComponent("bad.yaml").path
        try "id: [unclosed".write(toFile: notYAML, atomically: true, encoding: .utf8)
        let result = try Self.run(["providers", "validate", renamed, notYAML], in: directory)
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(renamed): /id:"), "stderr: \(result.stderr)")
        #expect(result.stderr.contains("\(notYAML):"), "stderr: \(result.stderr)")
    }

    @Test("poll sections are checked beyond the schema: a timestamp cursor without updatedAt is refused with its path")
    func pollSectionErrors() throws {
        let directory = try TestPaths.temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try String(contentsOfFile: TestPaths.providers + "/simulator.yaml", encoding: .utf8)
        let broken = original.replacingOccurrences(of: "      updatedAt: {pointer: /updated_at, format: rfc3339}\n", with: "")
        #expect(broken != original)
        let file = directory.appendingPathComponent("simulator.yaml").path
        try broken.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try Self.run(["providers", "validate", file], in: directory)
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(file): /poll/resources/0/updatedAt"), "stderr: \(result.stderr)")
    }

    @Test("the shipped manifests validate")
    func shippedManifests() throws {
        let directory = try TestPaths.temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Self.run(["providers", "validate"], in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let shipped = try FileManager.default.contentsOfDirectory(atPath: TestPaths.providers).filter { $0.hasSuffix(".yaml") }.count
        #expect(shipped >= 41)
        #expect(result.stdout.contains("\(shipped) manifest(s) valid"), "stdout: \(result.stdout)")
    }

    @Test("connections: add, show without secrets, rotate, remove; bad input exits 2 or 1 with one sentence")
    func connections() throws {
        let directory = try TestPaths.temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let add = try Self.run(["connections", "add", "--provider", "stripe", "--tenant", "acme", "--id", "s1", "--webhook-secret", "whsec_one"], in: directory)
        #expect(add.status == 0)
        #expect(add.stdout.contains("/webhooks/stripe/s1"))

        let show = try Self.run(["connections", "show", "s1", "--json"], in: directory)
        #expect(show.status == 0)
        #expect(!show.stdout.contains("whsec_one"), "a secret was printed")
        #expect(JSONValue(parsing: Array(show.stdout.utf8))?["webhook_path"] == .string("/webhooks/stripe/s1"))

        #expect(try Self.run(["connections", "rotate-secret", "s1", "--add", "whsec_two"], in: directory).status == 0)
        #expect(try Self.run(["connections", "rotate-secret", "s1", "--retire", "whsec_one"], in: directory).status == 0)
        let shown = try Self.run(["connections", "show", "s1", "--json"], in: directory)
        #expect(JSONValue(parsing: Array(shown.stdout.utf8))?["retired_secrets"] == .number("1"))

        let both = try Self.run(["connections", "rotate-secret", "s1", "--add", "a", "--retire", "b"], in: directory)
        #expect(both.status == 2)
        let unknown = try Self.run(["connections", "add", "--provider", "nope", "--tenant", "acme"], in: directory)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown provider \"nope\""))
        let duplicate = try Self.run(["connections", "add", "--provider", "stripe", "--tenant", "acme", "--id", "s1"], in: directory)
        #expect(duplicate.status == 2)
        #expect(duplicate.stderr.contains("already exists"))
        let missing = try Self.run(["events", "show", "999"], in: directory)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no event with seq 999"))
        let badStatus = try Self.run(["events", "list", "--status", "bogus"], in: directory)
        #expect(badStatus.status == 2)

        #expect(try Self.run(["connections", "remove", "s1"], in: directory).status == 0)
        #expect(try Self.run(["connections", "remove", "s1"], in: directory).status == 1)
    }
}
