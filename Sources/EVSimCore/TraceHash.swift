import EVCore

/// A 64-bit FNV-1a style digest over every message a run sends (send time, then the line). Two
/// runs with the same seed must produce the same digest; a different seed almost surely changes it.
/// Stable across processes (unlike Swift's seeded `Hasher`; words are read little-endian on the
/// platforms we run), so it can be printed and compared between a failing run and its replay.
public struct TraceHash: Sendable, Equatable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    public private(set) var messages = 0

    public init() {}

    private static let prime: UInt64 = 0x0000_0100_0000_01B3

    public mutating func add(_ message: SimMessage) {
        messages += 1
        mix(UInt64(bitPattern: message.sentAt))
        message.line.withUnsafeBytes { bytes in
            // Word at a time: the digest is over every sent byte, and this stays cheap in debug builds.
            var offset = 0
            while offset + 8 <= bytes.count {
                mix(bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                offset += 8
            }
            var tail: UInt64 = UInt64(bytes.count)
            while offset < bytes.count {
                tail = (tail << 8) | UInt64(bytes[offset])
                offset += 1
            }
            mix(tail)
        }
    }

    private mutating func mix(_ word: UInt64) {
        value = (value ^ word) &* Self.prime
        value ^= value >> 29
    }

    public var hex: String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
