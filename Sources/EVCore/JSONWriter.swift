import CJansson

/// Writes compact JSON straight into a `ByteBuffer`, with no intermediate tree.
/// Inside an object use `field`/`objectField`/`arrayField`; inside an array use `element`/…;
/// commas are placed automatically.
public struct JSONWriter {
    @usableFromInline let out: ByteBuffer
    @usableFromInline var first = true

    @inlinable public init(_ out: ByteBuffer) { self.out = out }

    @inline(__always) @usableFromInline mutating func separator() {
        if first { first = false } else { out.append(UInt8(ascii: ",")) }
    }

    @inline(__always) @usableFromInline mutating func key(_ k: String) {
        separator()
        writeString(k)
        out.append(UInt8(ascii: ":"))
    }

    // MARK: object members

    @inlinable public mutating func field(_ k: String, _ v: Int) { key(k); writeInt(v) }
    @inlinable public mutating func field(_ k: String, _ v: String) { key(k); writeString(v) }
    @inlinable public mutating func field(_ k: String, _ v: Bool) { key(k); writeBool(v) }
    @inlinable public mutating func field(_ k: String, _ v: JSON) { key(k); writeJSON(v) }
    @inlinable public mutating func field(_ k: String, _ v: JSONValue) { key(k); write(v) }
    @inlinable public mutating func fieldNull(_ k: String) { key(k); writeNull() }
    /// A member whose key is already serialized, quotes and colon included (Node's fixed keys).
    mutating func field(rawKey: UnsafeRawBufferPointer, _ v: Int) { separator(); out.append(rawKey); writeInt(v) }
    /// A member whose value is already-serialized JSON text.
    @inlinable public mutating func field(_ k: String, rawJSON: UnsafeRawBufferPointer) { key(k); out.append(rawJSON) }

    @inlinable public mutating func objectField(_ k: String, _ body: (inout JSONWriter) -> Void) {
        key(k); object(body)
    }

    @inlinable public mutating func arrayField(_ k: String, _ body: (inout JSONWriter) -> Void) {
        key(k); array(body)
    }

    @inlinable public mutating func field(_ k: String, ints: some Sequence<Int>) {
        key(k)
        out.append(UInt8(ascii: "["))
        var firstItem = true
        for v in ints {
            if firstItem { firstItem = false } else { out.append(UInt8(ascii: ",")) }
            writeInt(v)
        }
        out.append(UInt8(ascii: "]"))
    }

    // MARK: array elements

    @inlinable public mutating func element(_ v: Int) { separator(); writeInt(v) }
    @inlinable public mutating func element(_ v: String) { separator(); writeString(v) }
    @inlinable public mutating func element(_ v: JSON) { separator(); writeJSON(v) }
    @inlinable public mutating func element(_ v: JSONValue) { separator(); write(v) }
    @inlinable public mutating func elementNull() { separator(); writeNull() }
    @inlinable public mutating func objectElement(_ body: (inout JSONWriter) -> Void) { separator(); object(body) }
    @inlinable public mutating func arrayElement(_ body: (inout JSONWriter) -> Void) { separator(); array(body) }

    // MARK: values

    @inlinable public mutating func object(_ body: (inout JSONWriter) -> Void) {
        out.append(UInt8(ascii: "{"))
        var inner = JSONWriter(out)
        body(&inner)
        out.append(UInt8(ascii: "}"))
    }

    @inlinable public mutating func array(_ body: (inout JSONWriter) -> Void) {
        out.append(UInt8(ascii: "["))
        var inner = JSONWriter(out)
        body(&inner)
        out.append(UInt8(ascii: "]"))
    }

    public mutating func write(_ v: JSONValue) {
        switch v {
        case .null: writeNull()
        case .bool(let b): writeBool(b)
        case .int(let i): writeInt(i)
        case .double(let d):
            // JSON has no NaN/Infinity; write null rather than an invalid line.
            if d.isFinite { out.append("\(d)") } else { writeNull() }
        case .string(let s): writeString(s)
        case .array(let items): array { w in for item in items { w.element(item) } }
        case .object(let members): object { w in for (k, item) in members { w.field(k, item) } }
        }
    }

    @inlinable public func writeNull() { out.append(StaticBytes.null) }
    @inlinable public func writeBool(_ b: Bool) { out.append(b ? StaticBytes.true : StaticBytes.false) }

    /// Decimal integer without going through String.
    @inlinable public func writeInt(_ v: Int) {
        if v >= 0 && v < 10 { out.append(UInt8(truncatingIfNeeded: v) &+ 48); return }
        out.reserve(20)
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0) // 24 bytes of scratch
        var magnitude = v.magnitude
        withUnsafeMutableBytes(of: &digits) { scratch in
            var i = scratch.count
            repeat {
                i -= 1
                scratch[i] = UInt8(truncatingIfNeeded: magnitude % 10) &+ 48
                magnitude /= 10
            } while magnitude > 0
            if v < 0 { i -= 1; scratch[i] = UInt8(ascii: "-") }
            out.append(UnsafeRawBufferPointer(rebasing: scratch[i...]))
        }
    }

    /// A JSON string literal; escapes only what JSON requires (quote, backslash, control bytes).
    @inlinable public func writeString(_ s: String) {
        // Native strings (small ones included) always give contiguous UTF-8 without a copy.
        if s.utf8.withContiguousStorageIfAvailable({ writeString(utf8: UnsafeRawBufferPointer($0)) }) != nil { return }
        var s = s
        s.withUTF8 { writeString(utf8: UnsafeRawBufferPointer($0)) }
    }

    public func writeString(utf8 bytes: UnsafeRawBufferPointer) {
        let count = bytes.count
        out.reserve(count + 2)
        out.appendReserved(UInt8(ascii: "\""))
        if let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) {
            var plain = JSONWriter.plainPrefixLength(base, count)
            out.appendReserved(base, count: plain)
            // The rest, if any: runs of plain bytes copied whole, escapes in between.
            var runStart = plain
            while plain < count {
                let b = base[plain]
                plain += 1
                if !JSONWriter.needsEscape(b) { continue }
                out.append(UnsafeRawBufferPointer(start: base + runStart, count: plain - 1 - runStart))
                writeEscape(b)
                runStart = plain
            }
            out.append(UnsafeRawBufferPointer(start: base + runStart, count: count - runStart))
        }
        out.append(UInt8(ascii: "\""))
    }

    @inline(__always) static func needsEscape(_ b: UInt8) -> Bool {
        b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\")
    }

    /// How many leading bytes need no escaping. Eight bytes at a time while it can: a word holds
    /// a byte to escape exactly when one of three "has a zero byte" bit tests fires.
    @inline(__always) static func plainPrefixLength(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101, highBits: UInt64 = 0x8080_8080_8080_8080
        var i = 0
        while i + 8 <= count {
            let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            let control = (w &- ones &* 0x20) & ~w                  // a byte below 0x20
            let q = w ^ (ones &* UInt64(UInt8(ascii: "\""))), quote = (q &- ones) & ~q
            let b = w ^ (ones &* UInt64(UInt8(ascii: "\\"))), backslash = (b &- ones) & ~b
            if (control | quote | backslash) & highBits != 0 { break }
            i += 8
        }
        while i < count && !needsEscape(p[i]) { i += 1 }
        return i
    }

    private func writeEscape(_ b: UInt8) {
        switch b {
        case UInt8(ascii: "\""): out.append(StaticBytes.escapedQuote)
        case UInt8(ascii: "\\"): out.append(StaticBytes.escapedBackslash)
        case 0x0A: out.append(StaticBytes.escapedNewline)
        case 0x0D: out.append(StaticBytes.escapedReturn)
        case 0x09: out.append(StaticBytes.escapedTab)
        default:
            let hex = StaticBytes.hexDigits
            out.append(StaticBytes.escapedUnicodePrefix)
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0xF)])
        }
    }

    /// Serializes a jansson value (any type) with jansson's own encoder.
    public func writeJSON(_ v: JSON) {
        guard let raw = v.raw else { writeNull(); return }
        switch raw.pointee.type {
        case JSON_INTEGER: writeInt(Int(json_integer_value(raw)))
        case JSON_STRING:
            writeString(utf8: UnsafeRawBufferPointer(start: json_string_value(raw), count: json_string_length(raw)))
        default:
            let ctx = Unmanaged.passUnretained(out).toOpaque()
            json_dump_callback(raw, { bytes, count, ctx in
                let out = Unmanaged<ByteBuffer>.fromOpaque(ctx!).takeUnretainedValue()
                out.append(UnsafeRawBufferPointer(start: bytes, count: count))
                return 0
            }, ctx, Int(JSON_COMPACT | JSON_ENCODE_ANY))
        }
    }
}

/// Byte constants, kept static so writing them allocates nothing.
@usableFromInline enum StaticBytes {
    @usableFromInline static let null = UnsafeRawBufferPointer(staticString: "null")
    @usableFromInline static let `true` = UnsafeRawBufferPointer(staticString: "true")
    @usableFromInline static let `false` = UnsafeRawBufferPointer(staticString: "false")
    @usableFromInline static let escapedQuote = UnsafeRawBufferPointer(staticString: "\\\"")
    @usableFromInline static let escapedBackslash = UnsafeRawBufferPointer(staticString: "\\\\")
    @usableFromInline static let escapedNewline = UnsafeRawBufferPointer(staticString: "\\n")
    @usableFromInline static let escapedReturn = UnsafeRawBufferPointer(staticString: "\\r")
    @usableFromInline static let escapedTab = UnsafeRawBufferPointer(staticString: "\\t")
    @usableFromInline static let escapedUnicodePrefix = UnsafeRawBufferPointer(staticString: "\\u00")
    @usableFromInline static let hexDigits = UnsafeRawBufferPointer(staticString: "0123456789abcdef")
    // Node's envelope, in pieces: {"src":…,"dest":…,"body":{…}}\n
    static let srcKey = UnsafeRawBufferPointer(staticString: "{\"src\":")
    static let destKey = UnsafeRawBufferPointer(staticString: ",\"dest\":")
    static let bodyKey = UnsafeRawBufferPointer(staticString: ",\"body\":")
    static let closeEnvelope = UnsafeRawBufferPointer(staticString: "}\n")
    static let inReplyToKey = UnsafeRawBufferPointer(staticString: "\"in_reply_to\":")
}

extension UnsafeRawBufferPointer {
    @usableFromInline init(staticString s: StaticString) {
        self.init(start: s.utf8Start, count: s.utf8CodeUnitCount)
    }
}
