import Workloads

/// The seed corpus: one valid message of every type every workload handles, from clients and from
/// peers, followed by the same types with extreme values. A plain list so it is easy to update
/// when the message vocabulary changes (the replication rewrite replaces the peer types below).
/// The node under test is n1 of n0…n2; c* are clients.
public enum SeedCorpus {
    public static let initLine =
        #"{"id":0,"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n0","n1","n2"]}}"#

    /// Client requests.
    public static let clientMessages: [String] = [
        initLine,
        #"{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":2,"echo":"Please echo 35"}}"#,
        #"{"src":"c1","dest":"n1","body":{"type":"generate","msg_id":3}}"#,
        #"{"src":"c1","dest":"n1","body":{"type":"topology","msg_id":4,"topology":{"n0":["n1"],"n1":["n0","n2"],"n2":["n1"]}}}"#,
        #"{"src":"c1","dest":"n1","body":{"type":"broadcast","msg_id":5,"message":1000}}"#,
        #"{"src":"c1","dest":"n1","body":{"type":"read","msg_id":6}}"#,
        #"{"src":"c1","dest":"n1","body":{"type":"add","msg_id":7,"delta":5}}"#,
        #"{"src":"c1","dest":"n1","body":{"type":"send","msg_id":8,"key":"k1","msg":123}}"#,
        #"{"src":"c1","dest":"n1","body":{"type":"poll","msg_id":9,"offsets":{"k1":0,"k2":3}}}"#,
        #"{"src":"c1","dest":"n1","body":{"type":"commit_offsets","msg_id":10,"offsets":{"k1":0}}}"#,
        #"{"src":"c1","dest":"n1","body":{"type":"list_committed_offsets","msg_id":11,"keys":["k1","k2"]}}"#,
        #"{"src":"c1","dest":"n1","body":{"type":"txn","msg_id":12,"txn":[["r",1,null],["w",1,6],["w",2,9]]}}"#,
        #"{"src":"c1","dest":"n1","body":{"type":"read","msg_id":13,"key":1}}"#,
        #"{"src":"c1","dest":"n1","body":{"type":"write","msg_id":14,"key":1,"value":3}}"#,
        #"{"src":"c1","dest":"n1","body":{"type":"cas","msg_id":15,"key":1,"from":3,"to":4}}"#,
        #"{"src":"c1","dest":"n1","body":{"type":"txn","msg_id":16,"txn":[["r",1,null],["append",1,6]]}}"#,
    ]

    /// Peer (node-to-node) messages in the replication vocabulary (docs/replication.md), and
    /// replies from services.
    public static let peerMessages: [String] = [
        #"{"src":"n0","dest":"n1","body":{"type":"bc_data","from":0,"v":[1,2,3],"ack":0,"i":1700000000000000,"ri":0}}"#,
        #"{"src":"n0","dest":"n1","body":{"type":"bc_data","from":3,"v":[4],"ack":2,"r":true,"i":1700000000000000,"ri":0}}"#,
        #"{"src":"n2","dest":"n1","body":{"type":"bc_ack","ack":3,"i":1700000000000001,"ri":0,"h":true}}"#,
        #"{"src":"n0","dest":"n1","body":{"type":"gs_data","from":0,"v":[4,5,6],"ack":0,"i":1700000000000000,"ri":0}}"#,
        #"{"src":"n2","dest":"n1","body":{"type":"gs_ack","ack":2,"i":1700000000000001,"ri":0}}"#,
        #"{"src":"n0","dest":"n1","body":{"type":"gc_data","from":0,"v":[["n0/x",5,0],["n2/y",1,1]],"ack":0,"i":1700000000000000,"ri":0}}"#,
        #"{"src":"n0","dest":"n1","body":{"type":"gc_ack","ack":1,"i":1700000000000000,"ri":0,"s":4}}"#,
        #"{"src":"n0","dest":"n1","body":{"type":"kf_send","msg_id":5,"key":"k2","msg":7}}"#,
        #"{"src":"n0","dest":"n1","body":{"type":"kf_data","from":0,"v":[["m","k3",0,10],["m","k3",1,11],["c","k3",1]],"ack":0,"i":1700000000000000,"ri":0,"s":3}}"#,
        #"{"src":"n0","dest":"n1","body":{"type":"kf_ack","ack":0,"i":1700000000000000,"ri":0,"h":true}}"#,
        #"{"src":"n2","dest":"n1","body":{"type":"kf_list","msg_id":6,"keys":["k1"]}}"#,
        #"{"src":"n0","dest":"n1","body":{"type":"tx_data","from":0,"v":[[1,0,[[1,5],[2,6]]]],"ack":0,"i":1700000000000000,"ri":0}}"#,
        #"{"src":"n0","dest":"n1","body":{"type":"lk_append","term":2,"prev":0,"prev_term":0,"entries":[[2,-1,0,null],[2,2,7,["w",1,3]]],"commit":1,"round":5,"reads":[[8,1]]}}"#,
        #"{"src":"n2","dest":"n1","body":{"type":"lk_appended","term":2,"ok":true,"match":2,"round":5,"requests":[[9,["c",1,3,4]],[10,null]]}}"#,
        #"{"src":"n2","dest":"n1","body":{"type":"lk_vote","term":3,"last_index":2,"last_term":2,"pre":true}}"#,
        #"{"src":"n0","dest":"n1","body":{"type":"lk_voted","term":3,"granted":true,"pre":false}}"#,
        #"{"src":"n0","dest":"n1","body":{"type":"la_append","term":2,"prev":0,"prev_term":0,"entries":[[2,2,7,[["append",1,3],["r",1,null]]]],"commit":0,"round":5}}"#,
        #"{"src":"n2","dest":"n1","body":{"type":"la_appended","term":2,"ok":true,"match":1,"round":5,"requests":[[9,[["r",1,null]]]]}}"#,
        #"{"src":"n2","dest":"n1","body":{"type":"la_vote","term":3,"last_index":1,"last_term":2,"pre":false}}"#,
        #"{"src":"n0","dest":"n1","body":{"type":"la_voted","term":3,"granted":false,"pre":true}}"#,
        #"{"src":"n0","dest":"n1","body":{"type":"tx_ack","ack":0,"i":1700000000000000,"ri":5}}"#,
        #"{"src":"lin-kv","dest":"n1","body":{"type":"read_ok","in_reply_to":1,"value":4}}"#,
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
