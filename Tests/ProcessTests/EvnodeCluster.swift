import EVCore
import Foundation
import XCTest

/// Several `evnode` processes wired together like a Maelstrom network without latency or faults.
/// Every stdout line whose `dest` is another node of the cluster is written to that node's stdin;
/// lines to kv services are answered from one shared `ServiceKV`; lines to clients (`c…`) stay in
/// the sender's `messages`, where `call` waits for them. The router forwards by `dest` alone and
/// never reads peer bodies, so tests built on it do not depend on the peer wire format.
final class EvnodeCluster: @unchecked Sendable {
    let ids: [String]
    private var nodes: [String: EvnodeProcess] = [:] // filled before any node is sent a line

    /// Guards the counters below and is signalled on each delivery.
    private let delivered = NSCondition()
    private var deliveries = 0 // lines written to a node by the router (peer messages, seq-kv replies)
    private var unroutable: [String] = []
    private var nextMsgID = 1

    /// The cluster's services, shared by every process.
    let kv = ServiceKV()
    private let arguments: [String]
    /// Each node's start skew (`EvnodeProcess`), nil for none; a restarted node keeps its node's.
    let skew: StartSkew?

    /// Starts `count` nodes n0, n1, ... (not yet initialized), node i behind `skew.nodes[i]`.
    init(count: Int, arguments: [String] = [], skew: StartSkew? = nil) throws {
        precondition(skew.map { $0.nodes.count == count } ?? true, "one skew per node")
        ids = (0..<count).map { "n\($0)" }
        self.arguments = arguments
        self.skew = skew
        for id in ids { nodes[id] = try spawn(id) }
    }

    private func spawn(_ id: String) throws -> EvnodeProcess {
        let nodeSkew = skew.map { $0.nodes[ids.firstIndex(of: id)!] }
        return try EvnodeProcess(arguments: arguments, services: kv, skew: nodeSkew) { [weak self] line, value in
            self?.route(line, value, from: id)
        }
    }

    /// Maelstrom's kill and start: SIGKILLs node `id`, starts a fresh process in its place and
    /// initializes it with the same ids. Nothing from before survives in it; lines on their way to
    /// the killed process are lost.
    func restart(_ id: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let old = self[id]
        kill(old.process.processIdentifier, SIGKILL)
        _ = old.waitForExit(timeout: 10)
        let fresh = try spawn(id)
        delivered.withLock { nodes[id] = fresh }
        let list = JSONValue.array(ids.map { .string($0) })
        let reply = call(id, ["type": "init", "node_id": .string(id), "node_ids": list], client: "c0")
        XCTAssertEqual(reply?["type"], "init_ok", "init of the restarted \(id)", file: file, line: line)
    }

    deinit {
        for node in nodes.values where node.process.isRunning { node.process.terminate() }
    }

    subscript(id: String) -> EvnodeProcess { delivered.withLock { nodes[id]! } }

    /// Sends `init` to every node (all of `ids` as `node_ids`) and waits for each `init_ok`.
    func initAll(file: StaticString = #filePath, line: UInt = #line) {
        let list = JSONValue.array(ids.map { .string($0) })
        for id in ids {
            let reply = call(id, ["type": "init", "node_id": .string(id), "node_ids": list], client: "c0")
            XCTAssertEqual(reply?["type"], "init_ok", "init of \(id)", file: file, line: line)
        }
    }

    /// Sends a client request to node `id` (a fresh `msg_id` is added to `body`); returns the msg_id.
    @discardableResult
    func request(_ id: String, _ body: JSONValue, client: String = "c1") -> Int {
        let msgID = delivered.withLock { defer { nextMsgID += 1 }; return nextMsgID }
        var members = body.members ?? []
        members.append(("msg_id", .int(msgID)))
        self[id].send(JSONValue.object([("src", .string(client)), ("dest", .string(id)), ("body", .object(members))]).text)
        return msgID
    }

    /// Sends a client request and waits for the reply's body (nil if none came within `timeout`).
    func call(_ id: String, _ body: JSONValue, client: String = "c1", timeout: TimeInterval = 10) -> JSONValue? {
        self[id].waitForReply(to: request(id, body, client: client), timeout: timeout)
    }

    /// Repeats `attempt` until it returns true or `timeout` passes. Between attempts it waits for
    /// the router's next delivery instead of sleeping: a node's state can only change when it
    /// receives something (or one of its timers sends something, which the router then delivers).
    @discardableResult
    func eventually(timeout: TimeInterval = 5, _ attempt: () -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while true {
            let mark = delivered.withLock { deliveries }
            if attempt() { return true }
            delivered.lock()
            while deliveries == mark {
                if !delivered.wait(until: deadline) { break }
            }
            delivered.unlock()
            if Date() >= deadline { return attempt() }
        }
    }

    /// Lines whose `dest` was neither a node, seq-kv nor a client (should stay empty).
    var unroutableLines: [String] { delivered.withLock { unroutable } }

    /// Closes every node's stdin and waits for all to exit; returns the exit statuses by id.
    func finish(timeout: TimeInterval = 10) -> [String: Int32?] {
        for id in ids { self[id].closeInput() }
        return Dictionary(uniqueKeysWithValues: ids.map { ($0, self[$0].waitForExit(timeout: timeout)) })
    }

    // MARK: routing (on the sender's pipe-reader thread)

    private func route(_ line: String, _ value: JSONValue?, from src: String) {
        guard let dest = value?["dest"]?.string else { return record(unroutable: line) }
        let node = delivered.withLock { nodes[dest] }
        if let node {
            node.send(line)
        } else if ServiceKV.names.contains(dest) {
            // Answered by the sending process's harness (`EvnodeProcess`, shared `kv`).
        } else if isClientID(dest) {
            return // a reply: it stays in the sender's output, where the test looks for it
        } else {
            return record(unroutable: line)
        }
        delivered.withLock { deliveries += 1 }
        delivered.broadcast()
    }

    private func record(unroutable line: String) {
        delivered.withLock { unroutable.append(line) }
    }
}

/// Maelstrom's kv services for process tests (protocol reference §10): read, write and cas, one map
/// per service, answered at once. Linearizable, which is legal for every one of them.
final class ServiceKV: @unchecked Sendable {
    static let names: Set<String> = ["lin-kv", "seq-kv", "lww-kv"]
    private let lock = NSLock()
    private var values: [String: [String: JSONValue]] = [:] // service → key's JSON text → value
    private(set) var requests = 0

    /// The full reply envelope for a request `body` from node `src` to `service`.
    func reply(to body: JSONValue, from src: String, service: String) -> JSONValue {
        let answer: JSONValue = lock.withLock {
            requests += 1
            return self.answer(body, &values[service, default: [:]])
        }
        var members = answer.members!
        if let msgID = body["msg_id"] { members.append(("in_reply_to", msgID)) }
        return .object([("src", .string(service)), ("dest", .string(src)), ("body", .object(members))])
    }

    private func answer(_ body: JSONValue, _ values: inout [String: JSONValue]) -> JSONValue {
        guard let key = body["key"]?.text else { return error(12, "missing key") }
        switch body["type"]?.string {
        case "read":
            guard let v = values[key] else { return error(20, "key does not exist") }
            return ["type": "read_ok", "value": v]
        case "write":
            guard let v = body["value"] else { return error(12, "missing value") }
            values[key] = v
            return ["type": "write_ok"]
        case "cas":
            guard let from = body["from"], let to = body["to"] else { return error(12, "missing from/to") }
            if let current = values[key] {
                guard current == from else { return error(22, "expected \(from.text), found \(current.text)") }
            } else if body["create_if_not_exists"] != true {
                return error(20, "key does not exist")
            }
            values[key] = to
            return ["type": "cas_ok"]
        default:
            return error(10, "not supported: \(body["type"]?.text ?? "a missing type")")
        }
    }

    private func error(_ code: Int, _ text: String) -> JSONValue {
        ["type": "error", "code": .int(code), "text": .string(text)]
    }
}
