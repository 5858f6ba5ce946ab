import ArgumentParser
import Foundation
import Synchronization
import TributaryCore
import TributaryRuntime

/// `tributary demo`: the whole engine against a simulated provider under chaos, on a new database.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a simulated provider under chaos (dropped, duplicated and reordered webhooks, 429s, deletions) against a real engine on a new database, until the mirror matches the provider.",
        discussion: "Nothing to configure: it needs only the provider manifests (--providers). The database is left for you to query; the commands to do so are printed at the end."
    )

    @OptionGroup var global: GlobalOptions
    @Option(parsing: .unconditional, help: "Seconds the provider keeps changing records.") var duration = 30
    @Option(parsing: .unconditional, help: "Seed of the provider's changes and chaos (default: random).") var seed: UInt64?
    @Option(help: "Directory to create the database in (default: a new one under the system's temporary directory).") var dir: String?

    func validate() throws {
        guard (1...3600).contains(duration) else { throw ValidationError("--duration must be between 1 and 3600 seconds, not \(duration)") }
        if global.db != nil { throw ValidationError("--db is not used by demo, which makes a new database; give --dir to choose where") }
    }

    func run() async throws {
        // Checked before anything is printed or created: a demo that cannot run leaves nothing behind.
        let manifest = (global.providersDirectory as NSString).appendingPathComponent("simulator.yaml")
        guard FileManager.default.fileExists(atPath: manifest) else {
            throw CLIError.usage("the demo needs the simulator's manifest, \(manifest), which does not exist (--providers or TRIBUTARY_PROVIDERS names the directory of provider manifests)")
        }
        let existed = dir.map { FileManager.default.fileExists(atPath: $0) } ?? false
        let directory = try Self.directory(dir)
        let seed = self.seed ?? UInt64.random(in: 1...999_999)
        let terminal = isatty(STDOUT_FILENO) == 1
        Output.line("demo: a simulated provider (seed \(seed)) changing records for \(duration) s; 20% of its webhooks dropped, 20% duplicated, reordered; 10% of API calls answered 429")
        let lastPrinted = LastPrinted()
        let result: DemoResult
        do {
            result = try await TributaryRuntime.Demo.run(
                duration: .seconds(duration), directory: directory, providersDirectory: global.providersDirectory, seed: seed
            ) { p in
                let line = String(
                    format: "%3d s  %@  provider changes %d · webhooks %d (%d dropped, %d duplicated) · 429s %d · events in %d, applied %d, pending %d, lag %.1f s · mismatches %d",
                    p.seconds, p.phase.rawValue, p.providerChanges, p.webhooksSent, p.webhooksDropped, p.webhooksDuplicated, p.throttled,
                    p.eventsIn, p.settled, p.pending, p.lagSeconds, p.mismatches
                )
                if terminal {
                    FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + line).utf8))
                } else if lastPrinted.due(p.seconds, phase: p.phase) {
                    Output.line(line)
                }
            }
        } catch {
            // A demo that could not run leaves nothing behind in a directory it made.
            if dir == nil || !existed { try? FileManager.default.removeItem(atPath: directory) }
            throw error
        }
        if terminal { Output.line("") }
        guard result.mismatches.isEmpty else {
            throw CLIError.failure("did not converge: \(result.mismatches.count) mismatches, e.g. \(result.mismatches.prefix(3).joined(separator: "; ")) (database \(result.database))")
        }
        Output.line("converged: \(result.records) records, 0 mismatches")
        Output.line("""
            The database is \(result.database). Look around:
              tributary records list --db \(result.database) --connection \(result.connection)
              tributary events list --db \(result.database) --limit 20
              tributary status --db \(result.database)
            """)
    }

    /// `--dir` (created if absent; it must not already hold a demo database), or a new temporary directory.
    static func directory(_ given: String?) throws -> String {
        if let given {
            do {
                try FileManager.default.createDirectory(atPath: given, withIntermediateDirectories: true)
            } catch {
                throw CLIError.failure("cannot create --dir \(given): \(error.localizedDescription)")
            }
            guard !FileManager.default.fileExists(atPath: (given as NSString).appendingPathComponent("demo.db")) else {
                throw CLIError.usage("--dir \(given) already holds a demo database (demo.db); give another directory")
            }
            return given
        }
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("tributary-demo-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw CLIError.failure("cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }

    /// When a progress line last went out, so that a log gets one every 5 seconds and one per phase.
    final class LastPrinted: Sendable {
        private let last = Mutex<(seconds: Int, phase: DemoProgress.Phase?)>((-5, nil))

        func due(_ now: Int, phase: DemoProgress.Phase) -> Bool {
            last.withLock { last in
                guard now - last.seconds >= 5 || phase != last.phase else { return false }
                last = (now, phase)
                return true
            }
        }
    }
}
