import Crypto
import Foundation
import Synchronization
import Testing
import TributaryCore
@testable import TributaryStore
import TributaryTesting

/// The master key file beside the database.
@Suite("Master key file")
struct SecretBoxTests {
    static func bytes(_ box: SecretBox) -> [UInt8] { box.key.withUnsafeBytes { Array($0) } }

    @Test("starts racing on a new database all get the key the file holds, and the file is complete and 0600")
    func racingCreation() throws {
        let directory = try TestPaths.temporaryDirectory("keyfile")
        defer { try? FileManager.default.removeItem(at: directory) }
        for round in 0..<20 {
            let path = directory.appendingPathComponent("db-\(round).key").path
            let results = Mutex<[Result<SecretBox, StoreError>]>([])
            DispatchQueue.concurrentPerform(iterations: 8) { _ in
                let result = Result { () throws(StoreError) in try SecretBox.load(environment: nil, keyFile: path) }
                results.withLock { $0.append(result) }
            }
            let onFile = Self.bytes(try SecretBox.load(environment: nil, keyFile: path))
            let keys = try results.withLock { try $0.map { Self.bytes(try $0.get()) } }
            #expect(keys.count == 8)
            #expect(keys.allSatisfy { $0 == onFile }, "round \(round): a start kept a key the file does not hold")
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !$0.hasSuffix(".key") }
        #expect(left.isEmpty, "temporary files left behind: \(left)")
    }

    @Test("a key file readable by others or not holding a key is refused with a sentence naming it")
    func badFiles() throws {
        let directory = try TestPaths.temporaryDirectory("keyfile-bad")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("t.db.key").path
        _ = try SecretBox.load(environment: nil, keyFile: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        do {
            _ = try SecretBox.load(environment: nil, keyFile: path)
            Issue.record("a key file readable by others was accepted")
        } catch {
            #expect(error.message.contains(path) && error.message.contains("chmod 600"))
        }
        try Data("not a key\n".utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        do {
            _ = try SecretBox.load(environment: nil, keyFile: path)
            Issue.record("a file without a key was accepted")
        } catch {
            #expect(error.message.contains("does not hold a 32-byte base64 key"))
        }
    }
}
