public import TributaryCore

/// How a mirror differs from the simulator's truth: what the convergence tests assert on and
/// `tributary demo` reports.
public enum MirrorComparison {
    /// Every way `mirror` differs from the provider's `truth`, one line each (with `hardDeletes`, a
    /// deleted record may be absent or a tombstone).
    public static func mismatches(_ mirror: [MirrorRecord], _ truth: [SimulatorRecord], hardDeletes: Bool = false) -> [String] {
        var mirrored = Dictionary(uniqueKeysWithValues: mirror.map { ("\($0.recordType)/\($0.recordId)", $0) })
        var out: [String] = []
        for record in truth {
            guard let m = mirrored.removeValue(forKey: "\(record.type)/\(record.id)") else {
                if !(hardDeletes && record.deleted) { out.append("missing \(record.type)/\(record.id)") }
                continue
            }
            if hardDeletes, record.deleted, m.deleted { continue }
            if m.version != Int64(record.version) || m.deleted != record.deleted {
                out.append("\(record.type)/\(record.id): mirror v\(m.version ?? -1) deleted=\(m.deleted), provider v\(record.version) deleted=\(record.deleted)")
            } else if !record.deleted, m.data.flatMap({ JSONValue(parsing: $0) }) != record.json {
                out.append("\(record.type)/\(record.id): data differs")
            }
        }
        return out + mirrored.keys.sorted().map { "extra \($0)" }
    }
}
