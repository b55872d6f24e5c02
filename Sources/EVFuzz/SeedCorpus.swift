import EVCore
import Workloads

/// The seed corpus: every route of every workload, from the example body it declares
/// (`Handlers.on(…, example:)`, read through `WorkloadDescriptor`), from a client or from a peer,
/// then the same messages with extreme values. A route added to a workload is seeded without an
/// edit here. The node under test is n1 of n0…n2; c* are clients.
public enum SeedCorpus {
    public static let initLine =
        #"{"id":0,"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n0","n1","n2"]}}"#

    /// Each route's example body with a msg_id, as a line from a client (or a peer for peer-only types).
    private static func lines(peers: Bool) -> [String] {
        var out: [String] = [], msgID = 1
        for d in WorkloadDescriptor.builtIn {
            for e in d.examples where e.fromPeers == peers {
                msgID += 1
                let body = JSONValue.object((e.body.members ?? []) + [("msg_id", .int(msgID))])
                let envelope: JSONValue = ["src": peers ? "n0" : "c1", "dest": "n1", "body": body]
                out.append(envelope.text)
                if peers { out.append((["src": "n2", "dest": "n1", "body": e.body] as JSONValue).text) } // as peers send it
            }
        }
        return out
    }

    /// Client requests: init, then every route clients may use.
    public static let clientMessages: [String] = [initLine] + lines(peers: false)

    /// Peer (node-to-node) messages of every peer-only route, and replies from services and peers.
    public static let peerMessages: [String] = lines(peers: true) + [
        #"{"src":"lin-kv","dest":"n1","body":{"type":"read_ok","in_reply_to":1,"value":4}}"#,
        #"{"src":"lin-kv","dest":"n1","body":{"type":"cas_ok","in_reply_to":2}}"#,
        #"{"src":"n0","dest":"n1","body":{"type":"error","in_reply_to":2,"code":11,"text":"busy"}}"#,
    ]

    /// Values substituted into fields by the mutators, and used in `extremeMessages`.
    public static let extremeValues: [String] = [
        "9223372036854775807", "-9223372036854775808", "18446744073709551616", "-0", "-0.0", "1e308", "-1e308",
        "4.9e-324", "0", "-1", "1.5", "123456789012345678901234567890", "\"\"", "\"n1\"", "\"c1\"", "\"nobody\"",
        "\"\\u0000\"", "\"\\ud800\"", "null", "true", "[]", "{}", "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]",
        "[" + Array(repeating: "9223372036854775807", count: 2000).joined(separator: ",") + "]",
        "{" + (0..<500).map { "\"n\($0)\":[\($0)]" }.joined(separator: ",") + "}",
        String(repeating: "[", count: 3000) + String(repeating: "]", count: 3000),
    ]

    /// Every message again with each numeric field set to each extreme integer.
    public static var extremeMessages: [String] {
        var out: [String] = []
        for line in clientMessages + peerMessages {
            for v in ["9223372036854775807", "-9223372036854775808", "18446744073709551616", "-1", "1e308"] {
                out.append(replacingNumbers(in: line, with: v))
            }
        }
        out += [
            "", "{}", "[]", "null", "{\"src\":\"c1\"}", String(repeating: "{\"a\":", count: 5000),
            "{\"src\":\"c1\",\"dest\":\"n1\",\"body\":{\"type\":\"echo\",\"msg_id\":1,\"echo\":\"\u{FF}\"}}",
            "{\"src\":\"\",\"dest\":\"\",\"body\":{\"type\":\"\",\"msg_id\":0}}",
            "{\"src\":\"c1\",\"dest\":\"n1\",\"body\":{\"type\":\"echo\",\"msg_id\":1,\"in_reply_to\":1}}",
        ]
        return out
    }

    /// Message types to try: the seeds' and those the workloads register.
    public static var messageTypes: [String] {
        var types = Set<String>()
        for line in clientMessages + peerMessages {
            if let t = JSONTextScan.type(of: line) { types.insert(t) }
        }
        // Every type a workload registers, from the router's table.
        for t in Router.messageTypes { types.insert(t) }
        types.insert("init")
        return types.sorted()
    }

    /// Every digit run not inside a string replaced by `value`.
    static func replacingNumbers(in line: String, with value: String) -> String {
        var out = "", inString = false, escaped = false, inNumber = false
        for ch in line {
            if inString {
                out.append(ch)
                if escaped { escaped = false } else if ch == "\\" { escaped = true } else if ch == "\"" { inString = false }
                continue
            }
            if ch.isNumber || (ch == "-" && !inNumber) {
                if !inNumber { out += value; inNumber = true }
                continue
            }
            inNumber = false
            if ch == "\"" { inString = true }
            out.append(ch)
        }
        return out
    }
}

enum JSONTextScan {
    static func type(of line: String) -> String? {
        guard let r = line.firstRange(of: "\"type\":\"") else { return nil }
        let rest = line[r.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }
}
