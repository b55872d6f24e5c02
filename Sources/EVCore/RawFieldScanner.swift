/// Recovers the envelope's `src` and `dest` and the body's `msg_id` from bytes jansson could not
/// parse (bad JSON, bad UTF-8, an oversized line), so the sender can still be told.
///
/// It is a small JSON tokenizer fed any number of pieces (an oversized line streams through it
/// without being buffered): it tracks strings, escapes and nesting, so a `"src"` inside a string
/// value or a nested object is not mistaken for the envelope's. Memory is constant (an id is at
/// most 64 bytes) and time linear. Best effort by design: on broken JSON it may find nothing.
/// A value that is present but untrustworthy (an id with odd characters, a msg_id that is not an
/// exact 64-bit integer, such as 1.5 or 2^64) is reported as nil, never approximated: a reply to
/// a wrong msg_id would be worse than none.
public struct RawFieldScanner {
    public struct Fields: Equatable, Sendable {
        public var src: String?
        public var dest: String?
        public var msgID: Int?
        public init(src: String? = nil, dest: String? = nil, msgID: Int? = nil) {
            self.src = src; self.dest = dest; self.msgID = msgID
        }
    }

    /// What was found so far (the last occurrence wins, as in jansson).
    public var fields: Fields { var f = found; if number.active { f.msgID = number.result }; return f }

    private enum Slot { case none, src, dest, body, msgID }

    private var found = Fields()
    private var depth = 0
    /// Whether the containers at depth 1 and 2 are objects (deeper ones never matter).
    private var objectAtDepth1 = false, objectAtDepth2 = false
    /// Whether the depth-2 container is the envelope's `body`.
    private var inBody = false
    private var inString = false, escaped = false
    private var expectingKey = false
    private var stringIsKey = false
    /// A key of interest was read; waiting for its colon.
    private var key = Slot.none
    /// A colon followed a key of interest; the next token is its value.
    private var valueFor = Slot.none
    private var capturing = false, captureOK = true
    private var capture: [UInt8] = []
    private var number = NumberScan()

    static let maxIDBytes = 64

    public init() {}

    /// Convenience for a whole line.
    public static func fields(in bytes: UnsafeRawBufferPointer) -> Fields {
        var s = RawFieldScanner()
        s.feed(bytes)
        return s.fields
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        for b in bytes { step(b) }
    }

    private mutating func step(_ b: UInt8) {
        if inString {
            if escaped {
                escaped = false
            } else if b == UInt8(ascii: "\\") {
                escaped = true
                captureOK = false // ids are plain; an escape means it is not one
            } else if b == UInt8(ascii: "\"") {
                inString = false
                endString()
            } else if capturing {
                if capture.count < Self.maxIDBytes && b.isASCIIIdentifier { capture.append(b) } else { captureOK = false }
            }
            return
        }
        if number.active {
            if number.take(b) { return }
            found.msgID = number.result
            number = NumberScan()
        }
        switch b {
        case 0x20, 0x09, 0x0A, 0x0D:
            return
        case UInt8(ascii: "\""):
            inString = true
            let keyLevel = depth == 1 || (depth == 2 && inBody)
            stringIsKey = expectingKey && keyLevel
            capturing = stringIsKey || valueFor == .src || valueFor == .dest
            if !stringIsKey && valueFor == .msgID { found.msgID = nil } // a string msg_id is not one
            captureOK = true
            capture.removeAll(keepingCapacity: true)
            expectingKey = false
        case UInt8(ascii: ":"):
            valueFor = key
            key = .none
        case UInt8(ascii: ","):
            expectingKey = depth == 1 ? objectAtDepth1 : depth == 2 ? objectAtDepth2 : false
            key = .none; valueFor = .none
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let isObject = b == UInt8(ascii: "{")
            if valueFor == .src || valueFor == .dest { setField(valueFor, nil) }
            if valueFor == .msgID { found.msgID = nil }
            depth += 1
            if depth == 1 { objectAtDepth1 = isObject }
            if depth == 2 { objectAtDepth2 = isObject; inBody = isObject && valueFor == .body }
            expectingKey = isObject
            key = .none; valueFor = .none
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            depth = max(0, depth - 1)
            if depth < 2 { inBody = false }
            expectingKey = false
            key = .none; valueFor = .none
        default:
            if valueFor == .msgID {
                number = NumberScan()
                if !number.take(b) { found.msgID = nil }
            } else if valueFor == .src || valueFor == .dest {
                setField(valueFor, nil) // a number, true, null...: not an id
            }
            valueFor = .none
        }
    }

    private mutating func endString() {
        defer { capturing = false }
        guard capturing else { valueFor = .none; return }
        if stringIsKey {
            key = .none
            guard captureOK else { return }
            if depth == 1 {
                if capture.elementsEqual("src".utf8) { key = .src }
                else if capture.elementsEqual("dest".utf8) { key = .dest }
                else if capture.elementsEqual("body".utf8) { key = .body }
            } else if capture.elementsEqual("msg_id".utf8) {
                key = .msgID
            }
            return
        }
        let value = captureOK && !capture.isEmpty ? String(decoding: capture, as: UTF8.self) : nil
        setField(valueFor, value)
        valueFor = .none
    }

    private mutating func setField(_ slot: Slot, _ value: String?) {
        if slot == .src { found.src = value } else if slot == .dest { found.dest = value }
    }
}

/// An integer literal read one byte at a time: exact or nothing.
private struct NumberScan {
    var active = false
    private var negative = false, digits = 0, magnitude: UInt64 = 0, valid = true

    /// Consumes `b` if it continues the number; false at the first byte that ends it.
    mutating func take(_ b: UInt8) -> Bool {
        if !active {
            guard b == UInt8(ascii: "-") || (b >= 48 && b <= 57) else { return false }
            active = true
            if b == UInt8(ascii: "-") { negative = true; return true }
        }
        switch b {
        case 48...57:
            digits += 1
            let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(b - 48))
            if o1 || o2 { valid = false } else { magnitude = s }
            return true
        case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-"):
            valid = false // a fraction or exponent: not an exact integer
            return true
        default:
            return false
        }
    }

    var result: Int? {
        guard valid, digits > 0 else { return nil }
        if negative { return magnitude <= UInt64(Int.max) + 1 ? Int(truncatingIfNeeded: 0 &- magnitude) : nil }
        return magnitude <= UInt64(Int.max) ? Int(magnitude) : nil
    }
}

private extension UInt8 {
    var isASCIIIdentifier: Bool {
        (self >= 48 && self <= 57) || (self >= 65 && self <= 90) || (self >= 97 && self <= 122)
            || self == UInt8(ascii: "-") || self == UInt8(ascii: "_")
    }
}
