import EVCore
import Logging
import Workloads

/// Feeds lines to a real `Node` with the real `Workloads.Router` behind an in-memory transport,
/// and checks every line the node writes against what Maelstrom accepts: one JSON object per line
/// with exactly src, dest and body; src the node's id (before init: the dest the request named);
/// dest someone who exists (a sender seen so far, a node of the cluster, a service); body an
/// object with a string type; in_reply_to, if any, a msg_id that dest really sent.
/// Traps (overflow, index out of range) are not caught: under libFuzzer or in a test they end the
/// process, which is the failure report.
public final class FuzzHarness: Transport {
    public var now: Micros = 0
    public var wallClock: Micros { 1_700_000_000_000_000 + now }
    public var outputCongested = false
    public private(set) var node: Node!
    public let router: Router

    /// Problems found in the node's output, one sentence each.
    public private(set) var violations: [String] = []
    public private(set) var linesFed = 0, linesWritten = 0
    /// How many written lines had each body type (shows the run was not vacuous).
    public private(set) var writtenTypes: [String: Int] = [:]
    /// Lines the node addressed to its peers, kept (bounded) so a generator can send them back
    /// as if from those peers: real peer traffic to mutate.
    public private(set) var peerLines: [String] = []

    private static let services: Set<String> = ["lin-kv", "seq-kv", "lww-kv", "lin-tso"]
    private var senders = Set<String>()
    private var msgIDs: [String: Set<Int>] = [:]
    private var currentDest: String?
    /// lin-kv, answering the node's requests (its start record) as time passes; the fuzzer also
    /// forges replies of its own.
    private var linKV = KVState()
    private var linKVRequests: [JSONValue] = []

    public init(forced: WorkloadKind? = nil) {
        router = Router(forced: forced)
        node = Node(transport: self, handler: router, logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// Feeds one line (without its newline), then lets 1 ms pass.
    public func feed(line: [UInt8]) {
        var fields = line.withUnsafeBytes { RawFieldScanner.fields(in: $0) }
        // Prefer jansson's reading (last duplicate wins etc.); the raw scan covers broken lines.
        if let v = String(validating: line, as: UTF8.self).flatMap({ JSONValue(parsing: $0) }) {
            fields.src = v["src"]?.string
            fields.dest = v["dest"]?.string
            fields.msgID = v["body"]?["msg_id"]?.int ?? fields.msgID
        }
        if let src = fields.src {
            senders.insert(src)
            if let id = fields.msgID { msgIDs[src, default: []].insert(id) }
        }
        currentDest = fields.dest
        linesFed += 1
        // Every seventh line finds the output congested, so that path runs too.
        outputCongested = linesFed % 7 == 3
        line.withUnsafeBytes { node.receive(line: $0) }
        currentDest = nil
        advance(by: .ms(1))
    }

    /// Lets time pass in 100 ms steps, firing timers (replication flushes and resends, RPC timeouts).
    public func advance(by delta: Micros) {
        let end = now + delta
        while now < end {
            answerLinKV()
            now = min(end, now + .ms(100))
            node.fireTimers()
        }
    }

    /// Feeds a whole input: lines split at newlines, then 6 s of timers.
    public func run(_ data: UnsafeRawBufferPointer) {
        var start = 0
        for i in 0..<data.count where data[i] == 0x0A {
            feed(line: Array(data[start..<i]))
            start = i + 1
        }
        if start < data.count { feed(line: Array(data[start...])) }
        advance(by: .seconds(6))
    }

    public func timersChanged() {}

    private func answerLinKV() {
        while !linKVRequests.isEmpty {
            guard let reply = linKV.reply(to: linKVRequests.removeFirst(), as: "lin-kv") else { continue }
            reply.text.utf8CString.withUnsafeBytes { node.receive(line: UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
        }
    }

    public func transmit(dest: String, line: UnsafeRawBufferPointer) {
        linesWritten += 1
        let text = String(decoding: line, as: UTF8.self)
        func fail(_ why: String) { violations.append("\(why): \(text.prefix(300))") }
        guard line.last == 0x0A, !line.dropLast().contains(0x0A) else { return fail("not exactly one line") }
        guard String(validating: line, as: UTF8.self) != nil else { return fail("not UTF-8") }
        guard let v = JSONValue(parsing: String(text.dropLast())), let members = v.members else { return fail("not a JSON object") }
        guard Set(members.map(\.0)) == ["src", "dest", "body"], members.count == 3 else { return fail("envelope keys are not exactly src, dest, body") }
        guard let src = v["src"]?.string, let lineDest = v["dest"]?.string, lineDest == dest else { return fail("src/dest not strings or dest differs") }
        let expectedSrc = node.isInitialized ? node.id : currentDest
        if src.isEmpty || src != expectedSrc { fail("src is \(src), expected \(expectedSrc ?? "nothing: no line may be written")") }
        if !(senders.contains(dest) || node.nodeIDs.contains(dest) || Self.services.contains(dest)) { fail("dest \(dest) does not exist") }
        guard let body = v["body"], let type = body["type"]?.string else { return fail("body without a string type") }
        writtenTypes[type, default: 0] += 1
        if let r = body["in_reply_to"] {
            if let id = r.int {
                if msgIDs[dest]?.contains(id) != true { fail("in_reply_to \(id) was never sent by \(dest)") }
            } else {
                fail("in_reply_to is not an integer")
            }
        }
        if let m = body["msg_id"], m.int == nil { fail("msg_id is not an integer") }
        if node.nodeIDs.contains(dest) && dest != node.id && peerLines.count < 256 { peerLines.append(text) }
        if dest == "lin-kv" && body["msg_id"] != nil && linKVRequests.count < 1024 { linKVRequests.append(v) }
    }
}
