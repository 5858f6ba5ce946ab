import Foundation
import Logging
import Testing
import TributaryAPI
import TributaryCore
import TributaryIntegrationTesting
import TributaryStore
import TributaryTesting

/// The admin token as an operator meets it: `tributary serve` writes a generated one to a 0600 file,
/// `tributary admin-token rotate` replaces it, and a running `serve` follows.
@Suite("Admin token file", .serialized)
struct AdminTokenFileTests {
    /// The status line of `GET /v1/status` on a `serve` process, with `token`.
    static func status(_ port: Int, token: String) async throws -> String {
        let request = "GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n"
        return String(try await RawHTTP.sendAndRead(port: port, bytes: Array(request.utf8)).prefix(12))
    }

    /// The token in the file named on the `admin token written to FILE …` line that `serve` and
    /// `admin-token rotate` print; the line must not hold the token itself, and the file must be 0600.
    static func printedToken(_ output: String) -> String? {
        let prefix = "admin token written to "
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }),
              let path = line.dropFirst(prefix.count).split(separator: " ").first.map(String.init),
              let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              (attributes[.posixPermissions] as? Int) == 0o600,
              let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return output.contains(token) ? nil : token
    }

    @Test("tributary serve writes a generated token to a 0600 file once, printing only where; a restart writes none and the token still works")
    func servePrintsTokenOnce() async throws {
        let directory = try TestPaths.temporaryDirectory("api-serve")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("t.db").path

        let first = try await ServeProcess.start(database: database, masterKey: TestSecrets.masterKey, environment: ["TRIBUTARY_ADMIN_TOKEN": nil])
        let token = try #require(Self.printedToken(first.output), "serve printed no token: \(first.output)")
        #expect(try await Self.status(first.port, token: token) == "HTTP/1.1 200")
        #expect(try await Self.status(first.port, token: token + "x") == "HTTP/1.1 401")
        first.kill(SIGTERM)
        #expect(await first.waitForExit() == 0)

        let second = try await ServeProcess.start(database: database, masterKey: TestSecrets.masterKey, environment: ["TRIBUTARY_ADMIN_TOKEN": nil])
        #expect(!second.output.contains("admin token"), "a restart printed a token again: \(second.output)")
        #expect(try await Self.status(second.port, token: token) == "HTTP/1.1 200")
        second.kill(SIGTERM)
        #expect(await second.waitForExit() == 0)

        let file = try Data(contentsOf: URL(fileURLWithPath: database))
        let wal = (try? Data(contentsOf: URL(fileURLWithPath: database + "-wal"))) ?? Data()
        #expect(file.range(of: Data(token.utf8)) == nil && wal.range(of: Data(token.utf8)) == nil, "the token itself reached the database")
    }

    @Test("admin-token rotate writes a new token to the 0600 file; a running serve accepts it and refuses the old one from then on")
    func rotate() async throws {
        let directory = try TestPaths.temporaryDirectory("api-rotate")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("t.db").path
        let serve = try await ServeProcess.start(database: database, masterKey: TestSecrets.masterKey, environment: ["TRIBUTARY_ADMIN_TOKEN": nil])
        let old = try #require(Self.printedToken(serve.output), "serve printed no token: \(serve.output)")
        #expect(try await Self.status(serve.port, token: old) == "HTTP/1.1 200")

        let process = TestPaths.tributaryProcess(["admin-token", "rotate", "--db", database], masterKey: TestSecrets.masterKey)
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let new = try #require(Self.printedToken(printed), "rotate printed: \(printed)")
        #expect(new != old && new.count == 43)

        // The rotate process has exited: the running serve's next requests already see the new digest.
        #expect(try await Self.status(serve.port, token: old) == "HTTP/1.1 401", "the old token still works")
        #expect(try await Self.status(serve.port, token: new) == "HTTP/1.1 200", "the new token is refused")
        let store = try Store(path: database, masterKey: TestSecrets.masterKey, logger: Logger(label: "t"))
        #expect(try await store.setting(AdminToken.settingKey) == TokenDigest(of: new).hex, "the stored digest is not the new token's")
        serve.kill(SIGTERM)
        #expect(await serve.waitForExit() == 0)
    }
}
