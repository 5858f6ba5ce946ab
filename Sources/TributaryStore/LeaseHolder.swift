import Foundation
import TributaryCore
#if canImport(Glibc)
import Glibc
#endif

/// Lease holder names: `host:pid:nonce`, so a process can tell a dead local holder from a live one.
public enum LeaseHolder {
    /// This process's holder name.
    public static func current() -> String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))"
    }

    /// Whether `holder` names a process on this host that no longer exists.
    ///
    /// Only a holder of this very host is judged (another host's pid means nothing here);
    /// `kill(pid, 0)` failing with `ESRCH` is the kernel saying there is no such process.
    public static func isDeadLocalProcess(_ holder: String) -> Bool {
        let parts = holder.split(separator: ":")
        guard parts.count >= 3, String(parts[0]) == ProcessInfo.processInfo.hostName,
              let pid = Int32(parts[parts.count - 2]), pid > 0, pid != ProcessInfo.processInfo.processIdentifier else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
