import CJansson

/// The fields `Node` reads from every incoming line, found in one walk over the members of the
/// envelope and one over its body. `json_object_get` hashes its key on every call, and six of
/// them cost more than the walk (an echo line has seven members in all).
struct Envelope {
    var src = JSON(nil), dest = JSON(nil), body = JSON(nil)
    var type = JSON(nil), msgID = JSON(nil), inReplyTo = JSON(nil)

    /// `root` must be a JSON object. Unknown members are skipped; if a key repeats, jansson has
    /// kept only the last value, as `json_object_get` would see it.
    init(_ root: UnsafeMutablePointer<json_t>) {
        Envelope.forEachMember(of: root) { key, value in
            switch key[0] {
            case UInt8(ascii: "s"): if Envelope.key(key, is: "src") { src = value }
            case UInt8(ascii: "d"): if Envelope.key(key, is: "dest") { dest = value }
            case UInt8(ascii: "b"): if Envelope.key(key, is: "body") { body = value }
            default: break
            }
        }
        guard let rawBody = body.raw, rawBody.pointee.type == JSON_OBJECT else { return }
        Envelope.forEachMember(of: rawBody) { key, value in
            switch key[0] {
            case UInt8(ascii: "t"): if Envelope.key(key, is: "type") { type = value }
            case UInt8(ascii: "m"): if Envelope.key(key, is: "msg_id") { msgID = value }
            case UInt8(ascii: "i"): if Envelope.key(key, is: "in_reply_to") { inReplyTo = value }
            default: break
            }
        }
    }

    @inline(__always)
    private static func forEachMember(of object: UnsafeMutablePointer<json_t>,
                                      _ body: (UnsafePointer<UInt8>, JSON) -> Void) {
        var iter = json_object_iter(object)
        while let it = iter {
            if let key = json_object_iter_key(it) {
                body(UnsafeRawPointer(key).assumingMemoryBound(to: UInt8.self), JSON(json_object_iter_value(it)))
            }
            iter = json_object_iter_next(object, it)
        }
    }

    /// Whether the NUL-terminated `key` equals `name`; reads no further than `key`'s terminator.
    @inline(__always)
    private static func key(_ key: UnsafePointer<UInt8>, is name: StaticString) -> Bool {
        let expected = name.utf8Start
        for i in 0..<name.utf8CodeUnitCount where key[i] != expected[i] { return false }
        return key[name.utf8CodeUnitCount] == 0
    }
}

/// Makes Strings from the short byte strings a stream repeats line after line (src, dest, type),
/// keeping the last one: a repeat then costs a 16-byte compare instead of UTF-8 validation.
struct RecentString {
    private var lastBytes: (UInt64, UInt64) = (0, 0)
    private var lastCount = -1
    private var last = ""

    mutating func string(_ bytes: UnsafeRawBufferPointer) -> String {
        guard bytes.count <= 16 else { return String(decoding: bytes, as: UTF8.self) }
        var key: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &key) { $0.copyMemory(from: bytes) }
        if bytes.count == lastCount && key == lastBytes { return last }
        last = String(decoding: bytes, as: UTF8.self)
        lastBytes = key
        lastCount = bytes.count
        return last
    }

    /// The string value of `json`, or nil if it is not a JSON string.
    mutating func string(_ json: JSON) -> String? {
        guard let raw = json.raw, raw.pointee.type == JSON_STRING else { return nil }
        return string(UnsafeRawBufferPointer(start: json_string_value(raw), count: json_string_length(raw)))
    }
}
