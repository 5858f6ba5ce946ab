import ArgumentParser
import Foundation
import TributaryCore
import TributaryRuntime

/// `tributary poll`: run due polls (or all, with `--once`) and exit — for cron.
struct Poll: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run due polls (all with --once) and exit; safe beside a running serve (runs are leased)."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this connection.") var connection: String?
    @Option(help: "Only this resource.") var resource: String?
    @Flag(help: "Run every selected resource now, due or not.") var once = false
    @Option(name: .customLong("max-wait"), parsing: .unconditional, help: "Seconds one request may keep retrying a provider that fails or throttles (at most 8 attempts) before the command gives up with its last error. A run that keeps getting answers is never cut short.")
    var maxWait = 60

    func validate() throws {
        guard maxWait > 0 else { throw ValidationError("--max-wait must be a positive number of seconds, not \(maxWait)") }
    }

    func run() async throws {
        let engine = try global.openEngine(maxWait: .seconds(maxWait))
        // On a terminal, a long run (a backfill) shows its pages as they commit; never in a pipe or a log.
        let progress = isatty(STDERR_FILENO) == 1 && !global.json ? Task { await Self.showProgress(engine) } : nil
        let reports: [PollReport]
        do {
            reports = try await engine.poll(force: once, connection: connection, resource: resource)
            progress?.cancel()
            await progress?.value
        } catch {
            progress?.cancel()
            await progress?.value
            throw error
        }
        if global.json {
            Output.json(.array(reports.map(\.json)))
        } else {
            for r in reports {
                let outcome = r.skipped ? "skipped (leased elsewhere)" : r.error.map { "failed: \($0)" } ?? "ok"
                Output.line("\(r.connection)\t\(r.resource)\tpages=\(r.pages)\tobserved=\(r.observations)\tnew=\(r.newEvents)\t\(outcome)")
            }
        }
        let failed = reports.filter { $0.error != nil }
        if let first = failed.first {
            let others = failed.count > 1 ? " (and \(failed.count - 1) more run(s) failed)" : ""
            throw CLIError.failure("the poll of \(first.connection)/\(first.resource) failed: \(first.error ?? "")\(others)")
        }
    }

    /// Rewrites one stderr line each second with the runs under way, until cancelled; then clears it.
    static func showProgress(_ engine: Engine) async {
        var shown = false
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            let runs = await engine.runsInProgress()
            guard !runs.isEmpty, !Task.isCancelled else { continue }
            let text = runs.map { state in
                let watermark = state.cursor.run?.maxSeen.map { ", up to " + Timestamp.rfc3339(microseconds: $0 - $0 % 1_000_000) } ?? ""
                return "\(state.connection)/\(state.resource): page \(state.cursor.run?.pages ?? 0)\(watermark)"
            }.joined(separator: " · ")
            FileHandle.standardError.write(Data(("\r\u{1B}[2Kpolling " + text).utf8))
            shown = true
        }
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }
}
