import EVCore
import EVCheckers
import EVSim
import EVSimCore

/// Renders result maps for people: EDN-like text as Maelstrom prints results.edn, and indented
/// JSON for results.json.
public enum ResultFormat {
    /// EDN-like: keys become keywords (`:valid?`), numeric keys stay numbers (quantile maps),
    /// strings that start with ':' are keywords (`:unknown`). Arrays longer than `elide` are cut
    /// with a count of what was left out (nil prints everything).
    public static func edn(_ value: JSONValue, width: Int = 100, elide: Int? = nil) -> String {
        var out = ""
        writeEDN(value, indent: 0, width: width, elide: elide, into: &out)
        return out
    }

    private static func ednKey(_ key: String) -> String {
        Double(key) != nil ? key : ":" + key
    }

    private static func ednScalar(_ value: JSONValue) -> String? {
        switch value {
        case .null: return "nil"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? String(d) : "##NaN"
        case .string(let s): return s.hasPrefix(":") && !s.contains(" ") ? s : value.text
        default: return nil
        }
    }

    /// Single-line form, or nil if it would exceed `limit` characters.
    private static func flat(_ value: JSONValue, limit: Int, elide: Int?) -> String? {
        if let s = ednScalar(value) { return s.count <= limit ? s : nil }
        var parts: [String] = []
        var used = 2
        func add(_ s: String) -> Bool {
            used += s.count + 2
            parts.append(s)
            return used <= limit
        }
        switch value {
        case .array(let items):
            for item in items.prefix(elide ?? items.count) {
                guard let s = flat(item, limit: limit - used, elide: elide), add(s) else { return nil }
            }
            if let elide, items.count > elide, !add("… \(items.count - elide) more") { return nil }
            return "[" + parts.joined(separator: " ") + "]"
        case .object(let members):
            for (k, v) in members {
                guard let s = flat(v, limit: limit - used, elide: elide), add(ednKey(k) + " " + s) else { return nil }
            }
            return "{" + parts.joined(separator: ", ") + "}"
        default: return nil
        }
    }

    private static func writeEDN(_ value: JSONValue, indent: Int, width: Int, elide: Int?, into out: inout String) {
        if let s = flat(value, limit: max(width - indent, 20), elide: elide) {
            out += s
            return
        }
        switch value {
        case .object(let members):
            out += "{"
            for (i, (k, v)) in members.enumerated() {
                if i > 0 { out += ",\n" + String(repeating: " ", count: indent + 1) }
                let key = ednKey(k)
                out += key + " "
                writeEDN(v, indent: indent + key.count + 2, width: width, elide: elide, into: &out)
            }
            out += "}"
        case .array(let items):
            out += "["
            let shown = items.prefix(elide ?? items.count)
            for (i, item) in shown.enumerated() {
                if i > 0 { out += "\n" + String(repeating: " ", count: indent + 1) }
                writeEDN(item, indent: indent + 1, width: width, elide: elide, into: &out)
            }
            if let elide, items.count > elide {
                out += "\n" + String(repeating: " ", count: indent + 1) + "… \(items.count - elide) more"
            }
            out += "]"
        default:
            out += ednScalar(value) ?? value.text
        }
    }

    /// Indented JSON; arrays of scalars stay on one line.
    public static func prettyJSON(_ value: JSONValue, indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent + 1)
        switch value {
        case .object(let members) where !members.isEmpty:
            let lines = members.map { pad + JSONValue.string($0.0).text + ": " + prettyJSON($0.1, indent: indent + 1) }
            return "{\n" + lines.joined(separator: ",\n") + "\n" + String(repeating: "  ", count: indent) + "}"
        case .array(let items) where items.contains(where: { $0.array != nil || $0.members != nil }):
            let lines = items.map { pad + prettyJSON($0, indent: indent + 1) }
            return "[\n" + lines.joined(separator: ",\n") + "\n" + String(repeating: "  ", count: indent) + "]"
        default:
            return value.text
        }
    }
}
