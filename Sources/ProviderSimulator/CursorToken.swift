import Foundation

/// The opaque tokens of the page-token and sync-token styles.
///
/// They are base64url text so that clients treat them as opaque, as they must with real
/// providers; inside, they carry everything needed to resume, so the simulator keeps no
/// per-client state. A token presented for another type, or altered, is refused with 400.
enum CursorToken: Equatable, Sendable {
    /// Page-token style: resume after `afterID`.
    case page(type: String, afterID: String)
    /// Sync-token style: the changes after global change `seq`, issued at `issuedAt` (µs).
    case sync(type: String, seq: Int64, issuedAt: Int64)
    /// Sync-token style, mid-answer: `full` enumeration (live records) or the changes after `fromSeq`,
    /// listed by id after `afterID`; the answer's last page hands out a sync token for `headSeq`.
    case delta(type: String, full: Bool, fromSeq: Int64, headSeq: Int64, afterID: String)

    var type: String {
        switch self {
        case .page(let type, _), .sync(let type, _, _), .delta(let type, _, _, _, _): return type
        }
    }

    var text: String {
        let fields: [String]
        switch self {
        case .page(let type, let afterID):
            fields = ["p1", type, afterID]
        case .sync(let type, let seq, let issuedAt):
            fields = ["s1", type, String(seq), String(issuedAt)]
        case .delta(let type, let full, let fromSeq, let headSeq, let afterID):
            fields = ["d1", type, full ? "full" : "changes", String(fromSeq), String(headSeq), afterID]
        }
        return Data(fields.joined(separator: "|").utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    init?(text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let decoded = String(data: data, encoding: .utf8) else { return nil }
        let fields = decoded.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        switch (fields.first, fields.count) {
        case ("p1", 3):
            self = .page(type: fields[1], afterID: fields[2])
        case ("s1", 4):
            guard let seq = Int64(fields[2]), let issuedAt = Int64(fields[3]) else { return nil }
            self = .sync(type: fields[1], seq: seq, issuedAt: issuedAt)
        case ("d1", 6):
            guard fields[2] == "full" || fields[2] == "changes", let from = Int64(fields[3]), let head = Int64(fields[4]) else { return nil }
            self = .delta(type: fields[1], full: fields[2] == "full", fromSeq: from, headSeq: head, afterID: fields[5])
        default:
            return nil
        }
    }
}
