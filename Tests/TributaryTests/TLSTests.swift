import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryRuntime
import TributaryTesting

/// `serve --tls-cert/--tls-key`: HTTPS from Tributary itself, with every bad file refused before it listens.
@Suite("TLS")
struct TLSTests {
    static func fixture(_ name: String) throws -> String {
        try #require(Fixture.url(name, extension: "pem", in: "tls"), "no fixture tls/\(name).pem").path
    }

    static func flags(cert: String?, key: String?) -> ServeFlags {
        var flags = ServeFlags()
        flags.tlsCertificate = cert
        flags.tlsKey = key
        return flags
    }

    @Test("with a certificate and its key, serve answers HTTPS (TLS 1.2 or later) to a client that trusts it, and no plain HTTP")
    func https() async throws {
        let directory = try TestPaths.temporaryDirectory("tls")
        defer { try? FileManager.default.removeItem(at: directory) }
        let resolved = try EngineConfiguration.resolve(Self.flags(cert: try Self.fixture("server-cert"), key: try Self.fixture("server-key")), environment: [:])
        var configuration = TestEngine.configuration(directory: directory)
        let tls = try #require(resolved.tls as TLSConfiguration?)
        configuration.tls = tls
        let engine = try Engine(configuration: configuration)
        let (ports, port) = AsyncStream.makeStream(of: Int.self)
        try await RunningServices.run([engine.application { port.yield($0) }], ports: ports, logger: SimulatorRig.logger) { port in
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(try Self.fixture("server-cert")))
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
            do {
                let answer = try await client.execute(HTTPClientRequest(url: "https://127.0.0.1:\(port)/healthz"), timeout: .seconds(10))
                #expect(answer.status == .ok)
                let body = try await answer.body.collect(upTo: 1024)
                #expect(String(buffer: body).contains("ok"))
                // TLS 1.1 is refused: the server asks for 1.2 at least.
                var old = TLSConfiguration.makeClientConfiguration()
                old.trustRoots = tls.trustRoots
                old.maximumTLSVersion = .tlsv11
                let oldClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: old))
                await #expect(throws: (any Error).self) {
                    _ = try await oldClient.execute(HTTPClientRequest(url: "https://127.0.0.1:\(port)/healthz"), timeout: .seconds(10))
                }
                try await oldClient.shutdown()
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
            // Plain HTTP to the TLS port gets no HTTP answer.
            let plain = try? await RawHTTP.sendAndRead(
                port: port, bytes: Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8), readTimeoutSeconds: 2
            )
            #expect(plain?.hasPrefix("HTTP/1.1 200") != true, "plain HTTP was answered on the TLS port: \(plain ?? "")")
        }
    }

    @Test("bad TLS settings stop serve before it listens, each naming the setting and the cause", arguments: [
        ("server-cert", nil, "needs --tls-key"),
        (nil, "server-key", "needs --tls-cert"),
        ("missing", "server-key", "does not exist"),
        ("server-key", "server-key", "is not a PEM certificate chain"),
        ("server-cert", "server-cert", "is not an unencrypted PEM private key"),
        ("server-cert", "other-key", "is not the private key of the certificate"),
    ] as [(String?, String?, String)])
    func refused(cert: String?, key: String?, says: String) throws {
        func path(_ name: String?) throws -> String? {
            guard let name else { return nil }
            return name == "missing" ? "/nonexistent/tributary-cert.pem" : try Self.fixture(name)
        }
        let error = #expect(throws: ConfigurationError.self) {
            _ = try EngineConfiguration.resolve(Self.flags(cert: try path(cert), key: try path(key)), environment: [:])
        }
        #expect(error?.message.contains(says) == true, "\(error?.message ?? "no error") does not say \(says)")
        #expect(error?.message.contains("--tls") == true, "\(error?.message ?? "") names no setting")
    }

    @Test("TRIBUTARY_TLS_CERT and TRIBUTARY_TLS_KEY stand for the flags, and errors name them")
    func environment() throws {
        let resolved = try EngineConfiguration.resolve(ServeFlags(), environment: [
            "TRIBUTARY_TLS_CERT": try Self.fixture("server-cert"), "TRIBUTARY_TLS_KEY": try Self.fixture("server-key"),
        ])
        #expect(resolved.tls != nil)
        let error = #expect(throws: ConfigurationError.self) {
            _ = try EngineConfiguration.resolve(ServeFlags(), environment: ["TRIBUTARY_TLS_CERT": try Self.fixture("server-cert")])
        }
        #expect(error?.message.hasPrefix("TRIBUTARY_TLS_CERT needs") == true, "\(error?.message ?? "")")
        #expect(try EngineConfiguration.resolve(ServeFlags(), environment: [:]).tls == nil)
    }
}
