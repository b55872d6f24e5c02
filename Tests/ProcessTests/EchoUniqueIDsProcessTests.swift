import EVCore
import Foundation
import XCTest

/// The built binary, spoken to through real pipes.
final class EchoUniqueIDsProcessTests: XCTestCase {
    func testInitEchoAndCleanExitOnEOF() throws {
        let node = try EvnodeProcess()
        node.send(EvnodeProcess.initLine("n0", ids: ["n0", "n1"]))
        node.send(#"{"id":2,"src":"c3","dest":"n0","body":{"type":"echo","msg_id":1,"echo":"Please echo 35"}}"#)
        node.send(#"{"id":3,"src":"c3","dest":"n0","body":{"type":"echo","msg_id":2,"echo":{"nested":[1,2.5,null,"é"]}}}"#)
        let lines = node.waitForLines(3)
        XCTAssertEqual(lines.count, 3, "replies are flushed while the node is idle, before EOF")
        node.closeInput()
        XCTAssertEqual(node.waitForExit(), 0)
        let m = node.messages
        XCTAssertEqual(m[0], ["src": "n0", "dest": "c0", "body": ["type": "init_ok", "in_reply_to": 1]])
        XCTAssertEqual(m[1], ["src": "n0", "dest": "c3", "body": ["type": "echo_ok", "in_reply_to": 1, "echo": "Please echo 35"]])
        XCTAssertEqual(m[2]["body"]?["echo"], ["nested": [1, 2.5, nil, "é"]])
        XCTAssertFalse(node.stderrText.isEmpty, "logs go to stderr")
    }

    func testUniqueIDsAreStringsAndDistinct() throws {
        let node = try EvnodeProcess()
        node.send(EvnodeProcess.initLine("n2", ids: ["n0", "n1", "n2"]))
        var batch = ""
        for i in 1...2000 { batch += #"{"src":"c1","dest":"n2","body":{"type":"generate","msg_id":\#(i)}}"# + "\n" }
        node.write(batch)
        XCTAssertEqual(node.finish(), 0)
        let replies = node.messages.dropFirst()
        XCTAssertEqual(replies.count, 2000)
        let ids = replies.compactMap { $0["body"]?["id"]?.string }
        XCTAssertEqual(Set(ids).count, 2000)
        XCTAssertTrue(ids.allSatisfy { $0.hasPrefix("n2-") })
        XCTAssertEqual(replies.map { $0["body"]?["in_reply_to"]?.int ?? -1 }, Array(1...2000))
    }

    /// Every kind of bad input: logged, answered where there is a sender, and the node keeps serving.
    func testBadInputIsReportedAndNodeKeepsServing() throws {
        let node = try EvnodeProcess()
        node.send(EvnodeProcess.initLine())
        node.send("not json at all")                                                         // 1: log only
        node.send(#"{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":2,"echo":"x""#)     // 2: malformed, sender recovered
        node.send("[\"an\",\"array\"]")                                                      // 3: not an object
        node.send(#"{"dest":"n0","body":{"type":"echo","msg_id":4}}"#)                       // 4: no src
        node.send(#"{"src":"c1","body":{"type":"echo","msg_id":5}}"#)                        // 5: no dest
        node.send(#"{"src":"c1","dest":"n0"}"#)                                              // 6: no body
        node.send(#"{"src":"c1","dest":"n0","body":{"msg_id":7}}"#)                          // 7: no type → 12
        node.send(#"{"src":"c1","dest":"n0","body":{"type":"frobnicate","msg_id":8}}"#)      // 8: unknown type → 10
        node.write(bytes: Array(#"{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":9,"echo":""#.utf8)
                   + [0xC3, 0x28, 0xFF] + Array("\"}}\n".utf8))                             // 9: non-UTF-8 → 12
        let huge = String(repeating: "A", count: (1 << 20) + 10)
        node.send(#"{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":10,"echo":""# + huge + #""}}"#) // 10: oversized → 12
        node.send(#"{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":11,"echo":"still here"}}"#)
        XCTAssertEqual(node.finish(), 0)
        let lines = node.outputLines
        XCTAssertEqual(lines.count, 7, "init_ok and six answers")
        let bodies = node.messages.dropFirst().map { $0["body"]! }
        XCTAssertEqual(bodies.map { $0["in_reply_to"]?.int }, [2, 7, 8, 9, 10, 11])
        XCTAssertEqual(bodies.map { $0["code"]?.int }, [12, 12, 10, 12, 12, nil])
        XCTAssertEqual(bodies.last?["echo"], "still here")
        for line in lines { XCTAssertNotNil(JSONValue(parsing: line), "stdout carries JSON only: \(line)") }
        let log = node.stderrText
        for needle in ["malformed JSON", "not a JSON object", "missing or non-string src/dest", "without a string type",
                       "unsupported message type 'frobnicate'", "exceeds the"] {
            XCTAssertTrue(log.contains(needle), "stderr should mention \(needle)")
        }
    }

    /// Every line reaches the node in two reads, split at a different place each time (inside the
    /// first token, inside a string, inside a multi-byte character, just before the newline, ...).
    /// Each write carries the end of one line and the start of the next, and the next write waits
    /// for the reply to that first line: the node has then read the write (a pipe write under
    /// PIPE_BUF is read whole), so the second half comes in a later read. No timing is involved.
    func testLinesSplitAcrossReadsAndUnterminatedLastLine() throws {
        let node = try EvnodeProcess()
        var lines = [EvnodeProcess.initLine()]
        for i in 2...12 { lines.append(#"{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":\#(i),"echo":"é\#(i)"}}"#) }
        let bytes = lines.map { Array($0.utf8) + [0x0A] }
        // Where each line is cut: its first byte, a byte inside "é" (2 bytes), its newline, others.
        let cuts = bytes.enumerated().map { i, b -> Int in
            switch i % 4 {
            case 0: return 1
            case 1: return b.firstIndex(of: 0xC3)! + 1
            case 2: return b.count - 1
            default: return b.count / 2
            }
        }
        node.write(bytes: Array(bytes[0][..<cuts[0]]))
        for i in 1..<bytes.count {
            node.write(bytes: Array(bytes[i - 1][cuts[i - 1]...]) + bytes[i][..<cuts[i]])
            XCTAssertNotNil(node.waitForReply(to: i), "reply to line \(i) before the rest of line \(i + 1) is sent")
        }
        // The last line loses its newline: EOF in the middle of it still gets it answered.
        node.write(bytes: Array(bytes.last![cuts.last!...].dropLast()))
        XCTAssertEqual(node.finish(), 0)
        XCTAssertEqual(node.messages.map { $0["body"]?["in_reply_to"]?.int }, (1...12).map { $0 })
        XCTAssertEqual(node.messages.last?["body"]?["echo"], "é12")
    }

    func testStrayArgumentsAreIgnoredAndHelpExplains() throws {
        let node = try EvnodeProcess(arguments: ["–-nemesis", "partition", "--unknown-flag"])
        node.send(EvnodeProcess.initLine())
        XCTAssertEqual(node.finish(), 0)
        XCTAssertEqual(node.messages.first?["body"]?["type"], "init_ok")

        let help = try EvnodeProcess(arguments: ["--help"])
        XCTAssertEqual(help.finish(), 0)
        let text = help.outputLines.joined(separator: "\n")
        XCTAssertTrue(text.contains("Maelstrom"), text)
        XCTAssertTrue(text.contains("--workload"), text)
    }

    func testForcedWorkloadRejectsOtherTypes() throws {
        let node = try EvnodeProcess(arguments: ["--workload", "echo"])
        node.send(EvnodeProcess.initLine())
        node.send(#"{"src":"c1","dest":"n0","body":{"type":"generate","msg_id":2}}"#)
        XCTAssertEqual(node.finish(), 0)
        XCTAssertEqual(node.messages.last?["body"]?["code"], 10)
    }
}
