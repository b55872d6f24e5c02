import CJansson

/// A Swift-owned JSON value, for state kept across messages, the simulator and tests.
/// The message path itself reads borrowed `JSON` views and writes with `JSONWriter`.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    /// Members in insertion order (order is kept so that written bodies are stable and replayable).
    case object([(String, JSONValue)])

    public init?(_ json: JSON) {
        guard let raw = json.raw else { return nil }
        switch raw.pointee.type {
        case JSON_NULL: self = .null
        case JSON_TRUE: self = .bool(true)
        case JSON_FALSE: self = .bool(false)
        case JSON_INTEGER: self = .int(Int(json_integer_value(raw)))
        case JSON_REAL: self = .double(json_real_value(raw))
        case JSON_STRING: self = .string(json.string!)
        case JSON_ARRAY:
            var items: [JSONValue] = []
            json.forEachElement { items.append(JSONValue($0) ?? .null) }
            self = .array(items)
        case JSON_OBJECT:
            var members: [(String, JSONValue)] = []
            json.forEachMember { members.append(($0, JSONValue($1) ?? .null)) }
            self = .object(members)
        default: return nil
        }
    }

    /// Parses JSON text.
    public init?(parsing text: String) {
        guard let doc = JSONDocument(parsing: text), let v = JSONValue(doc.root) else { return nil }
        self = v
    }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    public subscript(index: Int) -> JSONValue? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }

    public var int: Int? { if case .int(let v) = self { return v }; return nil }
    /// An integer or a double, as a double.
    public var number: Double? {
        switch self {
        case .int(let v): Double(v)
        case .double(let v): v
        default: nil
        }
    }
    public var string: String? { if case .string(let v) = self { return v }; return nil }
    public var array: [JSONValue]? { if case .array(let v) = self { return v }; return nil }
    public var members: [(String, JSONValue)]? { if case .object(let v) = self { return v }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }

    /// Compact JSON text.
    public var text: String {
        let out = ByteBuffer(capacity: 64)
        var w = JSONWriter(out)
        w.write(self)
        return out.string
    }

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return JSONValue.sameMembers(x, y)
        default: return false
        }
    }

    /// JSON equality compares objects as maps: the same (key, value) members in any order. (A
    /// repeated key counts once per occurrence, so `==` stays symmetric and agrees with `hash`.)
    /// Small objects are scanned pairwise; larger ones through a key index, so a peer's
    /// 20,000-member object costs linear time, not quadratic.
    private static func sameMembers(_ x: [(String, JSONValue)], _ y: [(String, JSONValue)]) -> Bool {
        guard x.count == y.count else { return false }
        if x.count <= 8 {
            var used = [Bool](repeating: false, count: y.count)
            for (key, value) in x {
                guard let j = y.indices.first(where: { !used[$0] && y[$0].0 == key && y[$0].1 == value }) else { return false }
                used[j] = true
            }
            return true
        }
        var unmatched: [String: [JSONValue]] = [:]
        unmatched.reserveCapacity(y.count)
        for (key, value) in y { unmatched[key, default: []].append(value) }
        for (key, value) in x {
            guard var candidates = unmatched[key], let j = candidates.firstIndex(of: value) else { return false }
            candidates.remove(at: j)
            unmatched[key] = candidates
        }
        return true
    }

    public func hash(into h: inout Hasher) {
        switch self {
        case .null: h.combine(0 as UInt8)
        case .bool(let v): h.combine(1 as UInt8); h.combine(v)
        case .int(let v): h.combine(2 as UInt8); h.combine(v)
        case .double(let v): h.combine(3 as UInt8); h.combine(v)
        case .string(let v): h.combine(4 as UInt8); h.combine(v)
        case .array(let v): h.combine(5 as UInt8); h.combine(v)
        case .object(let members):
            // Members in any order must hash alike (== ignores order), so each member is hashed on
            // its own and the results are added, which is commutative. Linear in the object's size.
            var sum = 0
            for (key, value) in members {
                var m = Hasher()
                m.combine(key)
                m.combine(value)
                sum &+= m.finalize()
            }
            h.combine(6 as UInt8)
            h.combine(members.count)
            h.combine(sum)
        }
    }
}

extension JSONValue: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(integerLiteral v: Int) { self = .int(v) }
    public init(floatLiteral v: Double) { self = .double(v) }
    public init(stringLiteral v: String) { self = .string(v) }
    public init(booleanLiteral v: Bool) { self = .bool(v) }
    public init(arrayLiteral items: JSONValue...) { self = .array(items) }
    public init(dictionaryLiteral members: (String, JSONValue)...) { self = .object(members) }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { text }
}
