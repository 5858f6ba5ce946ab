import Foundation
import Testing
import TributaryTesting

/// `tributary apps` as an operator meets it, hostile values first: credentials never from argv,
/// a credentials file that is not what it claims, an app that cannot route, a connection that
/// cannot belong.
@Suite("apps through the CLI", .serialized)
struct AppsCLITests {
    @Test("apps add takes credentials from a file or stdin only, refuses what cannot route, and connections join it by account")
    func hostileApps() throws {
        let directory = try TestPaths.temporaryDirectory("apps-cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        func file(_ name: String, _ text: String) throws -> String {
            let path = directory.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return "@" + path
        }
        let good = try file("good.yaml", "webhook_secret: gh-app-secret\napp_id: 12345\nclient_id: Iv1.abc\n")
        let rows: [(name: String, arguments: [String], status: Int32, stderr: String)] = [
            ("secret on argv", ["apps", "add", "--provider", "github", "--id", "gh", "--credentials", "webhook_secret: s"], 2, "--credentials takes @FILE or -"),
            ("missing file", ["apps", "add", "--provider", "github", "--id", "gh", "--credentials", "@/nonexistent/creds.yaml"], 2, "--credentials @/nonexistent/creds.yaml: cannot read"),
            ("not a mapping", ["apps", "add", "--provider", "github", "--id", "gh", "--credentials", try file("list.yaml", "- a\n- b\n")], 2, "not a YAML or JSON mapping"),
            ("unknown key", ["apps", "add", "--provider", "github", "--id", "gh", "--credentials", try file("typo.yaml", "client_secert: x\n")], 2, "unknown key \"client_secert\""),
            ("empty secret", ["apps", "add", "--provider", "github", "--id", "gh", "--credentials", try file("empty.yaml", "webhook_secret: \"\"\n")], 2, "webhook_secret must be a non-empty string"),
            ("bad key", ["apps", "add", "--provider", "github", "--id", "gh", "--credentials", try file("key.yaml", "private_key: not-a-pem\n")], 2, "private_key must be a PEM"),
            ("key not RSA", ["apps", "add", "--provider", "github", "--id", "gh", "--credentials", try file("garbled.yaml", "private_key: |\n  -----BEGIN RSA PRIVATE KEY-----\n  AAAA\n  -----END RSA PRIVATE KEY-----\n")], 2, "private_key cannot sign JWTs"),
            ("bad id", ["apps", "add", "--provider", "github", "--id", "a/b", "--credentials", good], 2, "app id \"a/b\""),
            ("unknown provider", ["apps", "add", "--provider", "nope", "--id", "gh", "--credentials", good], 2, "unknown provider \"nope\""),
            ("no account source", ["apps", "add", "--provider", "calendly", "--id", "cal", "--credentials", try file("calendly.yaml", "webhook_secret: calendly-key\n")], 2, "no webhooks.event.account"),
            ("added", ["apps", "add", "--provider", "github", "--id", "gh", "--credentials", good], 0, ""),
            ("twice", ["apps", "add", "--provider", "github", "--id", "gh", "--credentials", good], 2, "app gh already exists"),
            ("join", ["connections", "add", "--provider", "github", "--tenant", "acme", "--id", "acme-gh", "--app", "gh", "--account", "111"], 0, ""),
            ("same account", ["connections", "add", "--provider", "github", "--tenant", "globex", "--app", "gh", "--account", "111"], 2, "account 111 of app gh already belongs to connection acme-gh"),
            ("no account", ["connections", "add", "--provider", "github", "--tenant", "globex", "--app", "gh"], 2, "--app needs --account"),
            ("unknown app", ["connections", "add", "--provider", "github", "--tenant", "globex", "--app", "ghost", "--account", "5"], 2, "no app ghost"),
            ("other provider", ["connections", "add", "--provider", "gitlab", "--tenant", "globex", "--app", "gh", "--account", "5"], 2, "is a github app"),
            ("reserved id", ["connections", "add", "--provider", "github", "--tenant", "globex", "--id", "apps"], 2, "connection id \"apps\" is reserved"),
            ("remove with members", ["apps", "remove", "gh"], 2, "still has connections (acme-gh)"),
            ("retire the last secret", ["apps", "rotate-secret", "gh", "--retire", "gh-app-secret"], 2, "would be left without a webhook secret"),
            ("rotate secrets via credentials", ["apps", "rotate-secret", "gh", "--credentials", good], 2, "rotate with --add and --retire"),
            ("rotate add", ["apps", "rotate-secret", "gh", "--add", "gh-app-secret-2"], 0, ""),
            ("rotate retire", ["apps", "rotate-secret", "gh", "--retire", "gh-app-secret"], 0, ""),
            ("show unknown", ["apps", "show", "ghost"], 1, "no app ghost"),
        ]
        for row in rows {
            let result = try CLITests.run(row.arguments, in: directory)
            #expect(result.status == row.status, "\(row.name): exit \(result.status), stderr \(result.stderr)")
            #expect(row.stderr.isEmpty || result.stderr.contains(row.stderr), "\(row.name): \(result.stderr)")
            #expect(!result.stderr.contains("gh-app-secret") && !result.stdout.contains("gh-app-secret"), "\(row.name) printed a secret")
        }
        let show = try CLITests.run(["apps", "show", "gh", "--json"], in: directory)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains(#""webhook_path":"/webhooks/github/apps/gh""#) && show.stdout.contains(#""connections":1"#), "\(show.stdout)")
        #expect(!show.stdout.contains("gh-app-secret"), "apps show printed a secret")
        let connection = try CLITests.run(["connections", "show", "acme-gh", "--json"], in: directory)
        #expect(connection.stdout.contains(#""app":"gh""#), "\(connection.stdout)")
        #expect(try CLITests.run(["connections", "remove", "acme-gh"], in: directory).status == 0)
        #expect(try CLITests.run(["apps", "remove", "gh"], in: directory).status == 0)
        #expect(try CLITests.run(["apps", "list"], in: directory).stdout.isEmpty)
    }
}
