import EVCore

/// Structured mutations of protocol lines: numbers and strings swapped for extreme values, types
/// swapped for other registered types, senders changed, bytes cut or inserted.
public struct Mutator {
    public var rng: SplitMix64
    public let types: [String]
    static let senders = ["c1", "c2", "c77", "n0", "n2", "n1", "lin-kv", "seq-kv", "", "nobody", "c", "c1\\u0000"]

    public init(seed: UInt64, types: [String] = SeedCorpus.messageTypes) {
        rng = SplitMix64(seed: seed)
        self.types = types
    }

    public mutating func mutate(_ line: String) -> [UInt8] {
        var text = line
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0, 1, 2: text = replaceToken(in: text, numbers: true)
            case 3: text = replaceToken(in: text, numbers: false)
            case 4, 5: text = replaceField(in: text, key: "type", with: "\"\(types.randomElement(using: &rng)!)\"")
            case 6: text = replaceField(in: text, key: "src", with: "\"\(Self.senders.randomElement(using: &rng)!)\"")
            case 7: text = replaceField(in: text, key: "in_reply_to", with: "\(Int.random(in: 0...5, using: &rng))")
            default: break // byte-level, below
            }
        }
        var bytes = Array(text.utf8)
        if Int.random(in: 0..<4, using: &rng) == 0 && !bytes.isEmpty {
            let at = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: bytes.removeSubrange(at...)
            case 1: bytes.insert([0xFF, 0x00, 0xC3, 0x22, 0x5C, 0x7B].randomElement(using: &rng)!, at: at)
            default: bytes.remove(at: at)
            }
        }
        return bytes
    }

    /// Replaces one number (or one string value) outside strings with an extreme value.
    private mutating func replaceToken(in text: String, numbers: Bool) -> String {
        let chars = Array(text)
        var spans: [Range<Int>] = []
        var i = 0
        while i < chars.count {
            if chars[i] == "\"" {
                var j = i + 1
                while j < chars.count && chars[j] != "\"" { j += chars[j] == "\\" ? 2 : 1 }
                let isKey = j + 1 < chars.count && chars[j + 1] == ":"
                if !numbers && !isKey { spans.append(i..<min(j + 1, chars.count)) }
                i = j + 1
            } else if chars[i].isNumber || chars[i] == "-" {
                var j = i
                while j < chars.count && (chars[j].isNumber || "-+.eE".contains(chars[j])) { j += 1 }
                if numbers { spans.append(i..<j) }
                i = j
            } else {
                i += 1
            }
        }
        guard let span = spans.randomElement(using: &rng) else { return text }
        let value = SeedCorpus.extremeValues.randomElement(using: &rng)!
        return String(chars[..<span.lowerBound]) + value + String(chars[span.upperBound...])
    }

    /// Sets `"key":…` (a scalar value) to `value`, or adds it to the body if absent.
    private func replaceField(in text: String, key: String, with value: String) -> String {
        if let r = text.firstRange(of: "\"\(key)\":") {
            let rest = text[r.upperBound...]
            let end = rest.firstIndex(where: { $0 == "," || $0 == "}" }) ?? rest.endIndex
            return text[..<r.upperBound] + value + rest[end...]
        }
        if let b = text.firstRange(of: "\"body\":{") { return text[..<b.upperBound] + "\"\(key)\":\(value)," + text[b.upperBound...] }
        return text
    }
}
