import Foundation
import Testing
import TributaryTesting

/// `tributary destinations` and `deliveries` as an operator meets them, hostile values first.
@Suite("destinations through the CLI", .serialized)
struct DestinationsCLITests {
    @Test("destinations add refuses URLs deliveries may not reach and unknown types, shows the secret once, and the lifecycle commands answer for unknown ids")
    func hostileDestinations() throws {
        let directory = try TestPaths.temporaryDirectory("destinations-cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let rows: [(name: String, arguments: [String], status: Int32, stderr: String)] = [
            ("metadata service", ["destinations", "add", "--url", "http://169.254.169.254/latest/meta-data"], 2, "link-local address"),
            ("private", ["destinations", "add", "--url", "http://10.0.0.1/hook"], 2, "--allow-private-upstreams"),
            ("IPv6 link-local", ["destinations", "add", "--url", "http://[fe80::1]/hook"], 2, "link-local address"),
            ("not a URL", ["destinations", "add", "--url", "app.example.com/hook"], 2, "absolute http(s) URL"),
            ("credentials", ["destinations", "add", "--url", "https://u:p@app.example.com/hook"], 2, "must not hold credentials"),
            ("unknown type", ["destinations", "add", "--url", "https://app.example.com/hook", "--types", "record.deleted"], 2, "not a message type"),
            ("empty types", ["destinations", "add", "--url", "https://app.example.com/hook", "--types", ","], 2, "names no message type"),
            ("both types", ["destinations", "add", "--url", "https://app.example.com/hook", "--types", "record.changed,event.received", "--id", "both"], 0, ""),
            ("bad id", ["destinations", "add", "--url", "https://app.example.com/hook", "--id", "a b"], 2, "destination id \"a b\""),
            ("unknown connection", ["destinations", "add", "--url", "https://app.example.com/hook", "--connection", "ghost"], 2, "no connection ghost"),
            ("added", ["destinations", "add", "--url", "https://app.example.com/hook", "--id", "app"], 0, ""),
            ("twice", ["destinations", "add", "--url", "https://app.example.com/hook", "--id", "app"], 2, "destination app already exists"),
            ("private allowed", ["destinations", "add", "--url", "http://10.0.0.1/hook", "--id", "lan", "--allow-private-upstreams"], 0, ""),
            ("pause unknown", ["destinations", "pause", "ghost"], 1, "no destination ghost"),
            ("show unknown", ["destinations", "show", "ghost"], 1, "no destination ghost"),
            ("bad status", ["deliveries", "list", "--status", "lost"], 2, "--status must be pending, delivered or dead"),
            ("bad limit", ["deliveries", "list", "--limit", "0"], 2, "--limit must be 1 to 10000"),
            ("retry nothing", ["deliveries", "retry"], 2, "give delivery ids or --destination"),
            ("retry unknown destination", ["deliveries", "retry", "--destination", "ghost"], 2, "no destination ghost"),
            ("show unknown delivery", ["deliveries", "show", "42"], 1, "no delivery 42"),
            ("pause", ["destinations", "pause", "app"], 0, ""),
            ("rotate", ["destinations", "rotate-secret", "app"], 0, ""),
            ("retire old", ["destinations", "rotate-secret", "app", "--retire-old"], 0, ""),
        ]
        var secrets: [String] = []
        for row in rows {
            let result = try CLITests.run(row.arguments, in: directory)
            #expect(result.status == row.status, "\(row.name): exit \(result.status), stderr \(result.stderr)")
            #expect(row.stderr.isEmpty || result.stderr.contains(row.stderr), "\(row.name): \(result.stderr)")
            secrets += result.stdout.split(separator: " ").map(String.init).filter { $0.hasPrefix("whsec_") }.map { $0.trimmingCharacters(in: .newlines) }
        }
        #expect(secrets.count == 4, "add both, add app, add lan and one rotation print a secret each: \(secrets.count)")
        let show = try CLITests.run(["destinations", "show", "app"], in: directory)
        #expect(show.status == 0 && show.stdout.contains(#""state":"paused""#), "\(show.stdout)")
        #expect(show.stdout.contains(#""secret_fingerprints":[""#) && !secrets.contains { show.stdout.contains($0) }, "show printed a secret")
        let list = try CLITests.run(["destinations", "list"], in: directory)
        #expect(list.stdout.contains("app\tpaused\thttps://app.example.com/hook\tpending=0\tdead=0"), "\(list.stdout)")
        let status = try CLITests.run(["status"], in: directory)
        #expect(status.stdout.contains("destination app  https://app.example.com/hook  PAUSED (paused by the operator)"), "\(status.stdout)")
        #expect(try CLITests.run(["destinations", "remove", "app"], in: directory).status == 0)
        #expect(try CLITests.run(["destinations", "show", "app"], in: directory).status == 1)
    }
}
