import Crypto

/// What names an observed state in the event ids polls and fetches derive (`EventID.polled`,
/// `EventID.fetched`): its version, or without one `h` and the first 8 bytes of the SHA-256 of
/// the state's bytes in hex. One rule for both, so a page and a fetch that saw the same state agree.
public enum StateTag {
    public static func of(version: Int64?, state: [UInt8]) -> String {
        if let version { return String(version) }
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        for byte in SHA256.hash(data: state).prefix(8) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return "h" + String(decoding: hex, as: UTF8.self)
    }
}
