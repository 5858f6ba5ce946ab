import Crypto
package import Foundation
public import TributaryCore
#if canImport(Glibc)
import Glibc
#endif

/// Seals connection secrets at rest with AES-GCM under the master key.
///
/// The key comes from `TRIBUTARY_MASTER_KEY` (32 bytes as base64 or hex) or from a
/// key file beside the database, created with mode 0600 on first start. Losing
/// the key loses the secrets (connections must be given them again), never events.
public struct SecretBox: Sendable {
    let key: SymmetricKey

    init(key: SymmetricKey) {
        self.key = key
    }

    /// The box of `TRIBUTARY_MASTER_KEY` alone, with no key file to fall back on: a database several
    /// nodes share (PostgreSQL) needs the same key on every node, so none may make its own.
    package static func sharedKey(environment: String?) throws(StoreError) -> SecretBox {
        guard let environment, !environment.isEmpty else {
            throw StoreError(.configuration, "TRIBUTARY_MASTER_KEY is not set: a PostgreSQL database needs it (32 bytes as base64 or 64 hex digits, the same on every node), since there is no key file beside it")
        }
        guard let bytes = decodeKey(environment) else { throw StoreError(.configuration, keyProblem(environment) ?? "") }
        return SecretBox(key: SymmetricKey(data: bytes))
    }

    /// Why `TRIBUTARY_MASTER_KEY`'s value cannot be the master key, or `nil` when it can (or is unset).
    public static func keyProblem(_ environment: String?) -> String? {
        guard let environment, !environment.isEmpty, decodeKey(environment) == nil else { return nil }
        return "TRIBUTARY_MASTER_KEY must be 32 bytes as base64 or 64 hex digits"
    }

    /// Reads the master key from `environment`, or from `keyFile` (creating it when absent).
    /// - Parameter create: make the key file when it is absent (`false` when the database is only read:
    ///   a key created then could open none of the secrets already sealed).
    public static func load(environment: String?, keyFile: String, create: Bool = true) throws(StoreError) -> SecretBox {
        if let environment, !environment.isEmpty {
            guard let bytes = decodeKey(environment) else { throw StoreError(.configuration, keyProblem(environment) ?? "") }
            return SecretBox(key: SymmetricKey(data: bytes))
        }
        let manager = FileManager.default
        if !manager.fileExists(atPath: keyFile) {
            guard create else {
                throw StoreError(.configuration, "master key file \(keyFile) does not exist (set TRIBUTARY_MASTER_KEY if the key is kept elsewhere)")
            }
            let key = SymmetricKey(size: .bits256)
            let text = key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
            // Of two processes starting on a new database at once, one creates the file and the
            // other reads it below: both then seal with the same key.
            if try createExclusively(keyFile, contents: Data(text.utf8)) { return SecretBox(key: key) }
        }
        if let data = manager.contents(atPath: keyFile) {
            if let attributes = try? manager.attributesOfItem(atPath: keyFile),
               let mode = attributes[.posixPermissions] as? NSNumber, mode.intValue & 0o077 != 0 {
                throw StoreError(.configuration, "master key file \(keyFile) is readable by others; chmod 600 it")
            }
            guard let text = String(data: data, encoding: .utf8), let bytes = decodeKey(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw StoreError(.configuration, "master key file \(keyFile) does not hold a 32-byte base64 key")
            }
            return SecretBox(key: SymmetricKey(data: bytes))
        }
        throw StoreError(.configuration, "master key file \(keyFile) cannot be read")
    }

    /// Creates `path` holding `contents` (mode 0600) only if no file is there, never exposing a
    /// partial file: the contents are written and synced to a temporary file, which is then hard
    /// linked to `path` (a link fails if `path` exists, unlike a rename, which would replace it).
    /// - Returns: `false` when `path` already existed (another process won), leaving it as it is.
    static func createExclusively(_ path: String, contents: Data) throws(StoreError) -> Bool {
        func failure(_ what: String) -> StoreError {
            StoreError(.configuration, "cannot create master key file \(path): \(what) failed: \(String(cString: strerror(errno)))")
        }
        let temporary = path + ".\(getpid()).\(UInt32.random(in: .min ... .max)).tmp"
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("open") }
        defer { unlink(temporary) }
        let written = contents.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == contents.count, synced else { throw failure("write") }
        guard link(temporary, path) == 0 else {
            if errno == EEXIST { return false }
            throw failure("link")
        }
        // The new name must survive a power cut as surely as the secrets sealed under it.
        let directory = Glibc.open(Store.directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
        return true
    }

    static func decodeKey(_ text: String) -> [UInt8]? {
        if let data = Data(base64Encoded: text), data.count == 32 { return Array(data) }
        let utf8 = Array(text.utf8)
        guard utf8.count == 64 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < 64 {
            guard let byte = UInt8(String(decoding: utf8[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            out.append(byte)
            i += 2
        }
        return out
    }

    package func seal(_ secret: String) throws(StoreError) -> Data {
        do {
            guard let combined = try AES.GCM.seal(Data(secret.utf8), using: key).combined else {
                throw StoreError(.internal, "AES-GCM produced no combined box")
            }
            return combined
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.internal, "cannot seal a secret: \(error)")
        }
    }

    package func open(_ sealed: Data) throws(StoreError) -> String {
        do {
            let data = try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key)
            return String(decoding: data, as: UTF8.self)
        } catch {
            throw StoreError(.configuration, "a stored secret does not open with this master key (was TRIBUTARY_MASTER_KEY or the key file changed?)")
        }
    }

    /// A keyed fingerprint: finds a secret by value without decrypting every row, and reveals nothing without the key.
    package func fingerprint(_ secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(secret.utf8), using: key)
        return mac.prefix(12).map { String(format: "%02x", $0) }.joined()
    }
}
