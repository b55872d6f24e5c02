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
        var s = s
        s.withUTF8 { writeString(utf8: UnsafeRawBufferPointer($0)) }
    }

    public func writeString(utf8 bytes: UnsafeRawBufferPointer) {
        out.reserve(bytes.count + 2)
        out.append(UInt8(ascii: "\""))
        var runStart = 0
        for (i, b) in bytes.enumerated() where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
            out.append(UnsafeRawBufferPointer(rebasing: bytes[runStart..<i]))
            runStart = i + 1
            switch b {
            case UInt8(ascii: "\""): out.append(StaticBytes.escapedQuote)
            case UInt8(ascii: "\\"): out.append(StaticBytes.escapedBackslash)
            case 0x0A: out.append(StaticBytes.escapedNewline)
            case 0x0D: out.append(StaticBytes.escapedReturn)
            case 0x09: out.append(StaticBytes.escapedTab)
            default:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(StaticBytes.escapedUnicodePrefix)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            }
        }
        out.append(UnsafeRawBufferPointer(rebasing: bytes[runStart...]))
        out.append(UInt8(ascii: "\""))
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
}

extension UnsafeRawBufferPointer {
    @usableFromInline init(staticString s: StaticString) {
        self.init(start: s.utf8Start, count: s.utf8CodeUnitCount)
    }
}
