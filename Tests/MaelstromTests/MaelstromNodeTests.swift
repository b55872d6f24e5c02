import EVCore
import EVSimCore
import Maelstrom
import XCTest

/// The library's node on a simulated cluster, driven by hand: handlers, errors, RPCs in both
/// forms, timers and the KV clients, through the public API only.
final class MaelstromNodeTests: XCTestCase {
    private func cluster(_ nodes: Int = 2, _ setup: @escaping (MaelstromNode) -> Void) -> Cluster {
        let c = Cluster(ClusterSettings(nodeCount: nodes)) { _ in MaelstromNode(setup) }
        XCTAssertEqual(c.initialize(), [])
        return c
    }

    struct Oops: Error {}

    func testHandlersRepliesAndErrors() {
        let c = cluster(1) { node in
            node.on("echo") { req in
                let value = try req.require("echo")
                req.reply("echo_ok") { $0.field("echo", value) }
            }
            node.on("sum") { req in req.reply(["type": "sum_ok", "sum": .int(try req.int("a") + req.int("b"))]) }
            node.on("fail") { _ in throw MaelstromError(code: .txnConflict, text: "no") }
            node.on("crash") { _ in throw Oops() }
        }
        XCTAssertEqual(c.call("n0", ["type": "echo", "echo": [1, "x"]])?["echo"], [1, "x"])
        XCTAssertEqual(c.call("n0", ["type": "echo"])?["code"], 12, "a missing field is error 12")
        XCTAssertEqual(c.call("n0", ["type": "sum", "a": 2, "b": 3])?["sum"], 5)
        XCTAssertEqual(c.call("n0", ["type": "sum", "a": 2, "b": "3"])?["text"], "sum needs an integer field 'b'")
        XCTAssertEqual(c.call("n0", ["type": "fail"])?["code"], 30, "a thrown MaelstromError is its error reply")
        XCTAssertEqual(c.call("n0", ["type": "crash"])?["code"], 13, "any other error is a crash")
        XCTAssertEqual(c.call("n0", ["type": "nope"])?["code"], 10, "no handler: not supported")
    }

    func testRPCCallbackAndAsyncForms() {
        let c = cluster(2) { node in
            node.on("double") { req in req.reply("double_ok") { $0.field("n", (req["n"].int ?? 0) * 2) } }
            node.on("ask") { req in
                let n = try req.int("n")
                node.rpc(to: node.peers[0], ["type": "double", "n": .int(n)]) { result in
                    switch result {
                    case .success(let body): req.reply("ask_ok") { $0.field("n", body["n"]?.int ?? -1) }
                    case .failure(let error): req.reply(error: error)
                    }
                }
            }
            node.on("ask_async") { (req: Request) async throws in
                let n = try req.int("n") // before the first await: the body is readable
                let first = try await node.rpc(to: node.peers[0], ["type": "double", "n": .int(n)])
                let second = try await node.rpc(to: node.peers[0], ["type": "double", "n": first["n"]!])
                req.reply("ask_async_ok") { $0.field("n", second["n"]?.int ?? -1) }
            }
            node.on("ask_silent") { (req: Request) async throws in
                _ = try await node.rpc(to: node.peers[0], ["type": "silent"], timeout: .milliseconds(300))
            }
            node.on("silent") { _ in } // never answers
            var notes = 0
            node.on("relay") { req in
                let n = try req.int("n")
                node.send(to: node.peers[0], "note") { $0.field("n", n) }
                node.send(to: node.peers[0], ["type": "note", "n": 100])
                req.reply("relay_ok")
            }
            node.on("note") { req in notes += req["n"].int ?? 0 }
            node.on("notes") { req in req.reply("notes_ok") { $0.field("n", notes) } }
        }
        XCTAssertEqual(c.call("n0", ["type": "ask", "n": 4])?["n"], 8)
        XCTAssertEqual(c.call("n0", ["type": "ask_async", "n": 3])?["n"], 12)
        let start = c.now
        let timedOut = c.call("n0", ["type": "ask_silent"])
        XCTAssertEqual(timedOut?["code"], 0, "an RPC's timeout is thrown as code 0 and answered")
        XCTAssertEqual(c.now - start, 300_000, accuracy: 10_000)
        XCTAssertEqual(c.call("n0", ["type": "relay", "n": 5])?["type"], "relay_ok")
        XCTAssertEqual(c.call("n1", ["type": "notes"])?["n"], 105, "both send forms, no reply expected")
    }

    func testTimersStartAtInitAndSleepSuspendsOnlyTheTask() {
        let c = cluster(1) { node in
            var ticks = 0
            var ticker: MaelstromNode.Timer?
            node.onInit { ticker = node.every(.milliseconds(100)) { ticks += 1 } }
            node.on("ticks") { req in req.reply("ticks_ok") { $0.field("n", ticks) } }
            node.on("stop") { req in
                node.cancel(ticker!)
                req.reply("stop_ok")
            }
            node.on("later") { (req: Request) async in
                await node.sleep(.milliseconds(250))
                req.reply("later_ok")
            }
        }
        c.run(for: .ms(1050))
        XCTAssertEqual(c.call("n0", ["type": "ticks"])?["n"], 10)
        XCTAssertEqual(c.call("n0", ["type": "stop"])?["type"], "stop_ok")
        c.run(for: .ms(500))
        XCTAssertEqual(c.call("n0", ["type": "ticks"])?["n"], 10, "a cancelled timer stops")
        let start = c.now
        XCTAssertEqual(c.call("n0", ["type": "later"])?["type"], "later_ok")
        XCTAssertEqual(c.now - start, 250_000, accuracy: 1_000)
    }

    func testKVClientsAndTheirTypedErrors() {
        let c = cluster(1) { node in
            node.on("kv") { (req: Request) async throws in
                let kv = node.linKV
                var codes: [Int] = []
                do { _ = try await kv.read("k") } catch let e as MaelstromError { codes.append(e.code.rawValue) }
                do { try await kv.cas("k", from: 1, to: 2) } catch let e as MaelstromError { codes.append(e.code.rawValue) }
                try await kv.cas("k", from: 1, to: 2, createIfMissing: true)
                do { try await kv.cas("k", from: 1, to: 3) } catch let e as MaelstromError { codes.append(e.code.rawValue) }
                try await kv.write("k", 7)
                let value = try await kv.read("k")
                req.reply(["type": "kv_ok", "codes": .array(codes.map { .int($0) }), "value": value])
            }
            node.on("seq") { req in
                node.seqKV.write("s", "v") { _ in
                    node.seqKV.read("s") { r in req.reply(["type": "seq_ok", "value": (try? r.get()) ?? .null]) }
                }
            }
        }
        let reply = c.call("n0", ["type": "kv"])
        XCTAssertEqual(reply?["codes"], [20, 20, 22], "keyDoesNotExist, then without createIfMissing, then preconditionFailed")
        XCTAssertEqual(reply?["value"], 7)
        XCTAssertEqual(c.linKV["k"], 7)
        XCTAssertEqual(c.call("n0", ["type": "seq"])?["value"], "v")
    }
}
