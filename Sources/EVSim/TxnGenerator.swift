import EVCore
import EVSimCore

/// Elle's transaction generator (`wr-txns`), shared by txn-rw-register and txn-list-append (whose
/// generator is the same with writes renamed to appends). Each transaction has 1…maxTxnLength
/// micro-ops; each micro-op is a read or a write with equal odds, on a key drawn from a pool of
/// `keyCount` active keys (initially 0…keyCount−1). Written values are 1, 2, 3, … per key, so
/// unique per key. Drawing a write on a key that already got `maxWritesPerKey` writes retires it:
/// its slot gets a key one larger than any active key, and the micro-op is drawn again.
public struct TxnGenerator {
    public enum KeyDistribution: String, Sendable {
        /// Each active key equally likely.
        case uniform
        /// The i-th active key is half as likely as the (i-1)-th (recent Elle's default; Elle
        /// numbers the slots the other way round, which only renames the keys).
        case exponential
    }

    /// The write micro-op's function: "w" (txn-rw-register) or "append" (txn-list-append).
    let writeFunction: JSONValue
    let maxTxnLength: Int
    let maxWritesPerKey: Int
    let keyDistribution: KeyDistribution
    /// The pool, slot by slot.
    private(set) var activeKeys: [Int]
    /// Writes generated so far per key.
    private var writesPerKey: [Int: Int] = [:]

    init(writeFunction: JSONValue, keyCount: Int, maxTxnLength: Int, maxWritesPerKey: Int, keyDistribution: KeyDistribution) {
        self.writeFunction = writeFunction
        self.maxTxnLength = max(maxTxnLength, 1)
        self.maxWritesPerKey = maxWritesPerKey
        self.keyDistribution = keyDistribution
        activeKeys = Array(0..<max(keyCount, 1))
    }

    /// The next transaction: `[["r", k, null], [writeFunction, k, v], …]`.
    mutating func next(_ rng: inout SimRandom) -> JSONValue {
        let length = rng.int(1...maxTxnLength)
        var ops: [JSONValue] = []
        while ops.count < length {
            let isWrite = rng.int(0...1) == 1
            let slot = pickSlot(&rng)
            let key = activeKeys[slot]
            guard isWrite else {
                ops.append(["r", .int(key), nil])
                continue
            }
            let written = writesPerKey[key, default: 0]
            if written >= maxWritesPerKey {
                activeKeys[slot] = (activeKeys.max() ?? 0) + 1
                continue
            }
            writesPerKey[key] = written + 1
            ops.append([writeFunction, .int(key), .int(written + 1)])
        }
        return .array(ops)
    }

    private func pickSlot(_ rng: inout SimRandom) -> Int {
        let n = activeKeys.count
        switch keyDistribution {
        case .uniform:
            return rng.int(0...n - 1)
        case .exponential:
            // P(slot i) ∝ 2^-i: the position of the first set bit of a uniform n-bit draw,
            // folded back into range.
            let draw = rng.next() | (1 << 62)
            return min(draw.trailingZeroBitCount, 62) % n
        }
    }
}
