import EVCore
import EVTestSupport
import Foundation
import XCTest

/// Issue 10: untrusted input must not trap, cost more than linear time, or make the node write a
/// line Maelstrom rejects. One test per fix; each fails on the code before it.
final class HardeningTests: XCTestCase {
    var transport: ManualTransport!
    var handler: RecordingHandler!
    var node: Node!

    override func setUp() {
        transport = ManualTransport()
        handler = RecordingHandler()
        node = Node(transport: transport, handler: handler)
    }

    private func receive(_ text: String) {
        var t = text
        t.withUTF8 { node.receive(line: UnsafeRawBufferPointer($0)) }
    }

    private func initNode(_ id: String = "n1") {
        receive(#"{"src":"c0","dest":"\#(id)","body":{"type":"init","msg_id":1,"node_id":"\#(id)","node_ids":["n0","n1","n2"]}}"#)
    }

    // MARK: 1. hashing

    func testObjectHashSpreadsDistinctObjectsAndIgnoresMemberOrder() {
        let a: JSONValue = ["x": 1, "y": ["z": "w"]]
        let b: JSONValue = ["y": ["z": "w"], "x": 1]
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.hashValue, b.hashValue, "equal objects hash alike whatever the member order")
        XCTAssertNotEqual(["x": 1] as JSONValue, ["x": 2] as JSONValue)

        let keys = (0..<20_000).map { i -> JSONValue in ["k": .int(i), "tag": "key"] }
        let start = Date()
        let set = Set(keys)
        let elapsed = Date().timeIntervalSince(start)
        print("20,000 object keys into a Set<JSONValue>: \(String(format: "%.3f", elapsed)) s")
        XCTAssertEqual(set.count, 20_000)
        // A deterministic stand-in for "fast": the old hash gave every one-member-count object
        // the same value, i.e. 1 distinct hash and quadratic insertion.
        XCTAssertGreaterThan(Set(keys.map(\.hashValue)).count, 19_990)
    }

    func testLargeObjectsCompareAsMapsInLinearTime() {
        let members = (0..<20_000).map { ("k\($0)", JSONValue.int($0)) }
        let x = JSONValue.object(members), y = JSONValue.object(members.reversed())
        let start = Date()
        XCTAssertEqual(x, y)
        print("== of two 20,000-member objects: \(String(format: "%.3f", Date().timeIntervalSince(start))) s")
        var changed = members
        changed[10_000].1 = .int(-1)
        XCTAssertNotEqual(x, .object(changed))
        // Repeated keys: equality stays symmetric, so it can agree with the hash.
        let dup = JSONValue.object([("a", 1), ("a", 1)]), other = JSONValue.object([("a", 1), ("b", 2)])
        XCTAssertEqual(dup == other, other == dup)
        XCTAssertNotEqual(dup, other)
    }

    // MARK: 3. identity

    func testRequestBeforeInitIsAnsweredAsItsDest() {
        receive(#"{"src":"c1","dest":"n7","body":{"type":"echo","msg_id":3}}"#)
        XCTAssertEqual(transport.messages.count, 1)
        XCTAssertEqual(transport.messages.first?["src"], "n7", "never src \"\" (Maelstrom rejects it)")
        XCTAssertEqual(transport.messages.first?["body"]?["code"], 11)
    }

    func testNothingIsSentWithoutAnID() {
        node.send(to: "n0") { $0.field("type", "gossip") }
        XCTAssertEqual(transport.messages, [])
        XCTAssertEqual(node.stats.unsendableBeforeInit, 1)
    }

    func testUnusableInitIsRefusedWithError12() {
        let bad = [
            #""node_ids":["n0"]"#, // no node_id
            #""node_id":"","node_ids":["n0"]"#,
            #""node_id":5,"node_ids":["n0"]"#,
            #""node_id":"n0""#, // no node_ids
            #""node_id":"n0","node_ids":[]"#,
            #""node_id":"n0","node_ids":["n0",7]"#,
            #""node_id":"n0","node_ids":["n0",""]"#,
            #""node_id":"n0","node_ids":"n0""#,
        ]
        for (i, fields) in bad.enumerated() {
            receive(#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":\#(i + 1),\#(fields)}}"#)
            XCTAssertFalse(node.isInitialized, fields)
            let reply = transport.messages.last
            XCTAssertEqual(reply?["body"]?["code"], 12, fields)
            XCTAssertEqual(reply?["body"]?["in_reply_to"], .int(i + 1), fields)
            XCTAssertEqual(reply?["src"], "n0", fields)
        }
        initNode()
        // After a good init, a bad one changes nothing.
        receive(#"{"src":"c0","dest":"n1","body":{"type":"init","msg_id":50,"node_id":"","node_ids":["n0"]}}"#)
        XCTAssertEqual(node.id, "n1")
        XCTAssertEqual(node.nodeIDs, ["n0", "n1", "n2"])
        XCTAssertEqual(transport.messages.last?["src"], "n1")
    }

    func testRPCReplyFromAnotherSenderDoesNotCompleteIt() {
        initNode()
        var results: [String] = []
        node.rpc(to: "n2", timeout: .ms(100), { $0.field("type", "ping") }, callback: { r in
            results.append(r.message.map { "ok from \($0.src)" } ?? "\(r)")
        })
        let msgID = transport.messages.last!["body"]!["msg_id"]!.int!
        receive(#"{"src":"n0","dest":"n1","body":{"type":"pong","in_reply_to":\#(msgID)}}"#)
        receive(#"{"src":"c3","dest":"n1","body":{"type":"pong","in_reply_to":\#(msgID)}}"#)
        XCTAssertEqual(results, [], "only n2 may answer an RPC sent to n2")
        receive(#"{"src":"n2","dest":"n1","body":{"type":"pong","in_reply_to":\#(msgID)}}"#)
        XCTAssertEqual(results, ["ok from n2"])
    }

    func testReinitStopsTheOldIncarnationsTimersAndRPCs() {
        var fired = 0, callbacks = 0
        handler.onInit = { node in
            node.every(.ms(10)) { fired += 1 }
            node.rpc(to: "n0", timeout: .ms(50), { $0.field("type", "ping") }, callback: { _ in callbacks += 1 })
        }
        for _ in 0..<5_000 { initNode() }
        XCTAssertEqual(node.stats.reinits, 4_999)
        transport.advance(to: .ms(10), node)
        XCTAssertEqual(fired, 1, "only the last incarnation's timer runs")
        transport.advance(to: .ms(100), node)
        XCTAssertEqual(callbacks, 1, "only the last incarnation's RPC times out")
        XCTAssertEqual(node.pendingRPCCount, 0)
    }

    // MARK: 4. msg_id and oversized lines

    func testMsgIDBeyond64BitsIsNeverEchoedTruncated() {
        initNode()
        transport.clearOutput()
        for id in ["123456789012345678901234567890", "18446744073709551616", "9223372036854775808", "1.5", "1e3", "\"7\"", "null", "-0.0"] {
            receive(#"{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":\#(id),"echo":1}}"#)
        }
        for line in transport.messages {
            XCTAssertNil(line["body"]?["in_reply_to"], "a reply to an id the client never sent: \(line)")
        }
        XCTAssertEqual(handler.handled, [], "a request whose msg_id cannot be echoed is not served")
        receive(#"{"src":"c1","dest":"n1","body":{"type":"x","msg_id":9223372036854775807}}"#)
        XCTAssertEqual(handler.handled, ["x"], "Int64.max is exact and is served")
    }

    func testUnparsableLineWithHugeMsgIDGetsNoReply() {
        initNode()
        transport.clearOutput()
        // Bad JSON (unterminated), so only the raw scanner sees the msg_id.
        receive(#"{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":123456789012345678901234567890,"#)
        XCTAssertEqual(transport.messages, [], "the old scanner answered in_reply_to 123456789012345678")
        receive(#"{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":-42,"#)
        XCTAssertEqual(transport.messages.last?["body"]?["in_reply_to"], -42)
    }

    func testUnparsableLineBeforeInitIsAnsweredAsItsDest() {
        receive(#"{"src":"c1","dest":"n4","body":{"type":"echo","msg_id":3,"#)
        XCTAssertEqual(transport.messages.last?["src"], "n4")
        XCTAssertEqual(transport.messages.last?["body"]?["code"], 12)
    }

    func testRawScannerReadsTheEnvelopeNotLookalikes() {
        func scan(_ s: String) -> RawFieldScanner.Fields {
            var t = s
            return t.withUTF8 { RawFieldScanner.fields(in: UnsafeRawBufferPointer($0)) }
        }
        XCTAssertEqual(scan(#"{"body":{"echo":"\"src\":\"c666\"","x":{"msg_id":5},"msg_id":7},"src":"c2","dest":"n0""#),
                       RawFieldScanner.Fields(src: "c2", dest: "n0", msgID: 7))
        XCTAssertEqual(scan(#"{"src":"c2","body":{"msg_id":18446744073709551616}}"#).msgID, nil)
        XCTAssertEqual(scan(#"{"src":"c2","body":{"msg_id":-9223372036854775808}}"#).msgID, Int.min)
        XCTAssertEqual(scan(#"{"src":"c2","body":{"msg_id":12.0}}"#).msgID, nil)
        XCTAssertEqual(scan(#"{"src":"c\u0032","body":{"msg_id":1}}"#).src, nil, "escaped ids are not trusted")
        XCTAssertEqual(scan(#"{"src":"c2","body":{"msg_id":44"#).msgID, 44, "a number cut off by the end of the line")
    }

    func testOversizedLineWithMsgIDPastItsPrefixIsAnswered() {
        initNode()
        transport.clearOutput()
        let filler = String(repeating: "x", count: 100_000)
        let line = #"{"dest":"n1","body":{"type":"echo","echo":"\#(filler)","msg_id":77},"src":"c5"}"# + "\n"
        var splitter = LineSplitter(maxLineBytes: 10_000)
        let bytes = Array(line.utf8)
        // Fed in odd-sized pieces so tokens straddle chunk boundaries.
        bytes.withUnsafeBytes { all in
            var i = 0
            while i < all.count {
                let n = min(997, all.count - i)
                splitter.feed(UnsafeRawBufferPointer(rebasing: all[i..<(i + n)])) { event in
                    guard case .oversized(let prefix, let length, let fields) = event else { return XCTFail("\(event)") }
                    XCTAssertEqual(fields, RawFieldScanner.Fields(src: "c5", dest: "n1", msgID: 77))
                    node.rejectOversized(prefix: prefix, length: length, limit: 10_000, fields: fields)
                }
                i += n
            }
        }
        XCTAssertEqual(transport.messages.count, 1)
        XCTAssertEqual(transport.messages.last?["body"]?["in_reply_to"], 77)
        XCTAssertEqual(transport.messages.last?["body"]?["code"], 12)
        XCTAssertLessThanOrEqual(splitter.pendingBytes, 0)
    }

    func testSplitterPausesAfterTheLineThatAskedForIt() {
        var splitter = LineSplitter()
        var lines: [String] = []
        let text = "a\nbb\nccc\ndd"
        var t = text
        let used = t.withUTF8 { buf in
            splitter.feed(UnsafeRawBufferPointer(buf), pauseWhen: { lines.count == 2 }) { event in
                if case .line(let b) = event { lines.append(String(decoding: b, as: UTF8.self)) }
            }
        }
        XCTAssertEqual(lines, ["a", "bb"])
        XCTAssertEqual(used, 5, "consumed through the second newline; the rest is the caller's to feed again")
    }
}
