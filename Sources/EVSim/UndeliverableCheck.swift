import EVCheckers
import EVCore
import EVSimCore

/// The harness check behind `:undeliverable`.
public enum UndeliverableCheck {
    /// Messages a node sent to a client id that was already closed (or never existed). Maelstrom
    /// then stops reading that node's stdout for good, which ruins the run: fatal here.
    public static func undeliverable(_ messages: [SimMessage]) -> CheckResult {
        let examples: [JSONValue] = messages.prefix(5).map { m in
            ["time-ms": .double(Double(m.sentAt) / 1000), "src": .string(m.src), "dest": .string(m.dest),
             "type": m.body?["type"] ?? .null]
        }
        return CheckResult(validity: messages.isEmpty ? .valid : .invalid,
                           details: ["valid?": .bool(messages.isEmpty), "count": .int(messages.count),
                                     "examples": .array(examples)])
    }

}
