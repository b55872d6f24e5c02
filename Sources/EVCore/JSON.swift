import CJansson

/// A borrowed, read-only view of a jansson value. It is valid only while the document that owns it
/// is alive: for an incoming message, during the handler call. Copy out what must be kept
/// (`int`, `string`, `value`) or hold a `JSONDocument`.
public struct JSON {
    public let raw: UnsafeMutablePointer<json_t>?

    @inlinable public init(_ raw: UnsafeMutablePointer<json_t>?) { self.raw = raw }

    @inlinable public var exists: Bool { raw != nil }
    @inlinable public var isObject: Bool { raw?.pointee.type == JSON_OBJECT }
    @inlinable public var isArray: Bool { raw?.pointee.type == JSON_ARRAY }
    @inlinable public var isString: Bool { raw?.pointee.type == JSON_STRING }
    @inlinable public var isInt: Bool { raw?.pointee.type == JSON_INTEGER }
    @inlinable public var isNull: Bool { raw?.pointee.type == JSON_NULL }

    /// Member of an object; a missing key or a non-object gives a non-existent view.
    @inlinable public subscript(key: String) -> JSON {
        guard let raw, raw.pointee.type == JSON_OBJECT else { return JSON(nil) }
        return JSON(json_object_get(raw, key))
    }

    /// Element of an array; out of range or a non-array gives a non-existent view.
    @inlinable public subscript(index: Int) -> JSON {
        guard let raw, raw.pointee.type == JSON_ARRAY, index >= 0 else { return JSON(nil) }
        return JSON(json_array_get(raw, index))
    }

    /// Integer value; JSON integers only (a float like 5.0 is not an int).
    @inlinable public var int: Int? {
        guard let raw, raw.pointee.type == JSON_INTEGER else { return nil }
        return Int(json_integer_value(raw))
    }

    public var double: Double? {
        guard let raw else { return nil }
        switch raw.pointee.type {
        case JSON_INTEGER: return Double(json_integer_value(raw))
        case JSON_REAL: return json_real_value(raw)
        default: return nil
        }
    }

    public var bool: Bool? {
        guard let raw else { return nil }
        switch raw.pointee.type {
        case JSON_TRUE: return true
        case JSON_FALSE: return false
        default: return nil
        }
    }

    @inlinable public var string: String? {
        guard let raw, raw.pointee.type == JSON_STRING else { return nil }
        let bytes = UnsafeRawBufferPointer(start: json_string_value(raw), count: json_string_length(raw))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Number of elements (array) or members (object); 0 otherwise.
    public var count: Int {
        guard let raw else { return 0 }
        switch raw.pointee.type {
        case JSON_ARRAY: return json_array_size(raw)
        case JSON_OBJECT: return json_object_size(raw)
        default: return 0
        }
    }

    public func forEachElement(_ body: (JSON) throws -> Void) rethrows {
        guard let raw, raw.pointee.type == JSON_ARRAY else { return }
        for i in 0..<json_array_size(raw) { try body(JSON(json_array_get(raw, i))) }
    }

    public func forEachMember(_ body: (String, JSON) throws -> Void) rethrows {
        guard let raw, raw.pointee.type == JSON_OBJECT else { return }
        var iter = json_object_iter(raw)
        while let it = iter {
            let key = String(cString: json_object_iter_key(it))
            try body(key, JSON(json_object_iter_value(it)))
            iter = json_object_iter_next(raw, it)
        }
    }

    /// All elements as integers, or nil if this is not an array of integers.
    public var ints: [Int]? {
        guard isArray else { return nil }
        var out: [Int] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            guard let v = self[i].int else { return nil }
            out.append(v)
        }
        return out
    }

    /// A Swift-owned copy of this value.
    public var value: JSONValue? { JSONValue(self) }
}

/// An owned jansson tree (parsed from bytes or built elsewhere); frees it on deinit.
public final class JSONDocument {
    public let root: JSON

    /// Takes over one reference to `raw`.
    public init(adopting raw: UnsafeMutablePointer<json_t>) { root = JSON(raw) }

    /// Parses one JSON text. Returns nil and fills `error` on bad JSON or bad UTF-8.
    public init?(parsing bytes: UnsafeRawBufferPointer, error: inout String) {
        var err = json_error_t()
        guard let raw = json_loadb(bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count,
                                   0, &err) else {
            error = JSONDocument.describe(&err)
            return nil
        }
        root = JSON(raw)
    }

    public convenience init?(parsing text: String) {
        var err = ""
        var t = text
        let doc: JSONDocument? = t.withUTF8 { JSONDocument(parsing: UnsafeRawBufferPointer($0), error: &err) }
        guard let doc, let raw = doc.root.raw else { return nil }
        json_incref(raw)
        self.init(adopting: raw)
    }

    deinit { json_decref(root.raw) }

    static func describe(_ err: inout json_error_t) -> String {
        let text = withUnsafeBytes(of: &err.text) { buf in
            String(cString: buf.baseAddress!.assumingMemoryBound(to: CChar.self))
        }
        return "\(text) at line \(err.line) column \(err.column)"
    }
}
