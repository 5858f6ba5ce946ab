import Foundation

/// Secrets given on the command line: the value itself, `@FILE`, or `-` for standard input.
///
/// Why: argv is visible to every user of the machine (`/proc/*/cmdline`, `ps`), and lands in shell
/// history. A file or a pipe keeps the secret out of both. One trailing newline (as `echo` and
/// editors leave) is dropped; nothing else is trimmed, since a secret may end in spaces.
enum SecretInput {
    /// Resolves each of `values` given to `flag`; at most one may be `-` (stdin is read once).
    static func resolve(_ values: [String], flag: String) throws -> [String] {
        guard values.filter({ $0 == "-" }).count <= 1 else {
            throw CLIError.usage("\(flag) - can be given once: standard input holds one secret")
        }
        return try values.map { try resolve($0, flag: flag) }
    }

    static func resolve(_ value: String, flag: String) throws -> String {
        let text: String
        if value == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard let read = String(data: data, encoding: .utf8) else { throw CLIError.usage("\(flag) -: standard input is not UTF-8 text") }
            text = read
        } else if value.hasPrefix("@") {
            let path = String(value.dropFirst())
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIError.usage("\(flag) @\(path): cannot read that file")
            }
            guard let read = String(data: data, encoding: .utf8) else { throw CLIError.usage("\(flag) @\(path): the file is not UTF-8 text") }
            text = read
        } else {
            return value
        }
        var secret = Substring(text)
        if secret.hasSuffix("\r\n") { secret = secret.dropLast(2) } else if secret.hasSuffix("\n") { secret = secret.dropLast() }
        guard !secret.isEmpty else { throw CLIError.usage("\(flag) \(value): the secret read is empty") }
        return String(secret)
    }
}

/// The generated admin token's file: `<database>.admin-token`, mode 0600.
///
/// Why: stdout usually lands in a log (journald, a CI log, a terminal recording), and a token
/// printed there is readable by whoever reads the log. The file is readable by the service's
/// user only; `serve` and `admin-token rotate` print where it is, never the token.
enum AdminTokenFile {
    static func path(database: String) -> String { database + ".admin-token" }

    /// Writes `token` to a new temporary file, then renames it over the old one.
    ///
    /// The temporary file comes from `mkstemp`: a fresh name, created exclusively with mode 0600, so
    /// neither a planted symlink nor a file left with a wider mode can receive the token.
    static func write(_ token: String, database: String) throws -> String {
        let target = path(database: database)
        var template = Array((target + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw CLIError.failure("cannot create a temporary file beside \(target): \(String(cString: strerror(errno)))") }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let bytes = Array((token + "\n").utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0, rename(temporary, target) == 0 else {
            unlink(temporary)
            throw CLIError.failure("cannot write the admin token to \(target): \(String(cString: strerror(errno)))")
        }
        return target
    }
}
