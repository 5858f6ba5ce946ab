import CFuzzDriver
import Foundation

/// The body of the running target; libFuzzer's callback is a C function and cannot capture it.
nonisolated(unsafe) private var currentBody: (([UInt8]) -> Void)?

/// What every fuzz target shares: the driver, the repository's files and the real manifests.
public enum Fuzz {
    /// Hands control to libFuzzer, which calls `body` once per input (and parses the command line:
    /// `-max_total_time=`, corpus directories, crash files to replay).
    public static func run(_ body: @escaping ([UInt8]) -> Void) -> Never {
        currentBody = body
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let code = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
            currentBody?(bytes)
            return 0
        }
        exit(code)
    }

    /// The repository checkout: `TRIBUTARY_ROOT`, else two levels above `Fuzz/Sources/FuzzSupport`.
    public static let root: String = {
        if let root = ProcessInfo.processInfo.environment["TRIBUTARY_ROOT"] { return root }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The instant every target treats as now: the signing time of the fixtures' vectors (2026-11-18).
    public static let now: Int64 = 1_795_000_000
}
