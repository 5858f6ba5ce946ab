/// Byte-string helpers shared by signature checks (Providers) and token digests (Store).

/// Compares two byte strings in time that depends only on their lengths.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<a.count { diff |= a[i] ^ b[i] }
    return diff == 0
}

/// Decodes a hex string (either case); `nil` for odd length or a non-hex character.
public func hexBytes(_ text: String) -> [UInt8]? {
    let utf8 = Array(text.utf8)
    guard utf8.count % 2 == 0 else { return nil }
    var out = [UInt8]()
    out.reserveCapacity(utf8.count / 2)
    var i = 0
    while i < utf8.count {
        guard let h = hexDigit(utf8[i]), let l = hexDigit(utf8[i + 1]) else { return nil }
        out.append(h << 4 | l)
        i += 2
    }
    return out
}

extension Sequence where Element == UInt8 {
    /// Lower-case hex of the bytes.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in self {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// FNV-1a, 64 bits: a fast fingerprint (content hashes, deterministic jitter), not a security boundary.
@inlinable
public func fnv1a64(_ bytes: some Sequence<UInt8>) -> UInt64 {
    // Contiguous bytes (an array, `Data`) are folded through a buffer, not the sequence's iterator.
    if let hash = bytes.withContiguousStorageIfAvailable(fnv1a64(buffer:)) { return hash }
    return Array(bytes).withUnsafeBufferPointer(fnv1a64(buffer:))
}

/// FNV-1a, 64 bits, of the bytes in `buffer`.
public func fnv1a64(buffer: UnsafeBufferPointer<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in buffer {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01b3
    }
    return hash
}
