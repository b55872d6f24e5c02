/// Recovers `src` and `body.msg_id` from bytes that jansson could not parse (bad JSON, bad UTF-8,
/// an oversized line), so the sender can still be told. Best effort by design: it looks for the
/// first `"src":"…"` and `"msg_id":N` and trusts nothing else.
enum RawFieldScanner {
    static func senderAndMsgID(in bytes: UnsafeRawBufferPointer) -> (String, Int)? {
        guard let src = stringValue(after: Array("\"src\"".utf8), in: bytes),
              let msgID = intValue(after: Array("\"msg_id\"".utf8), in: bytes) else { return nil }
        return (src, msgID)
    }

    private static func find(_ needle: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        outer: for start in 0...(bytes.count - needle.count) {
            for (j, b) in needle.enumerated() where bytes[start + j] != b { continue outer }
            return start + needle.count
        }
        return nil
    }

    /// Index after `"key"` and optional spaces and a colon, then more spaces.
    private static func valueStart(after key: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int? {
        guard var i = find(key, in: bytes) else { return nil }
        func skipSpaces() { while i < bytes.count && (bytes[i] == 0x20 || bytes[i] == 0x09) { i += 1 } }
        skipSpaces()
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
        i += 1
        skipSpaces()
        return i
    }

    private static func stringValue(after key: [UInt8], in bytes: UnsafeRawBufferPointer) -> String? {
        guard var i = valueStart(after: key, in: bytes), i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
        i += 1
        let start = i
        while i < bytes.count && bytes[i] != UInt8(ascii: "\"") {
            // Node and client ids are short ASCII names; anything else is not trusted.
            let b = bytes[i]
            guard b.isASCIIIdentifier, i - start < 64 else { return nil }
            i += 1
        }
        guard i < bytes.count, i > start else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
    }

    private static func intValue(after key: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int? {
        guard var i = valueStart(after: key, in: bytes) else { return nil }
        var value = 0, digits = 0
        while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57, digits < 18 {
            value = value * 10 + Int(bytes[i] - 48)
            digits += 1
            i += 1
        }
        return digits > 0 ? value : nil
    }
}

private extension UInt8 {
    var isASCIIIdentifier: Bool {
        (self >= 48 && self <= 57) || (self >= 65 && self <= 90) || (self >= 97 && self <= 122)
            || self == UInt8(ascii: "-") || self == UInt8(ascii: "_")
    }
}
