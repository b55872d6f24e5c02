import CJansson
@testable import EVCore
import EVTestSupport
import XCTest

/// The fast paths of the message path (docs/perf.md): the word-at-a-time string escaper, the
/// one-walk envelope reader, the repeated-string cache and the pre-serialized envelope head.
/// Each is checked against the plain way of doing the same thing.
final class MessagePathTests: XCTestCase {
    /// JSON string escaping done the obvious way, one byte at a time.
    private func referenceEscape(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""): out += Array(#"\""#.utf8)
            case UInt8(ascii: "\\"): out += Array(#"\\"#.utf8)
            case 0x0A: out += Array(#"\n"#.utf8)
            case 0x0D: out += Array(#"\r"#.utf8)
            case 0x09: out += Array(#"\t"#.utf8)
            case ..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array(#"\u00"#.utf8) + [hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    private func written(_ bytes: [UInt8]) -> [UInt8] {
        let out = ByteBuffer(capacity: 16)
        bytes.withUnsafeBytes { JSONWriter(out).writeString(utf8: $0) }
        return out.bytes
    }

    func testEveryEscapableByteAtEveryPositionOfTheWords() {
        // Plain filler mixes ASCII with UTF-8 bytes >= 0x80, which the word test must not flag.
        let filler = Array("aé€Z0~ 日".utf8)
        let escapable: [UInt8] = Array(0..<0x20) + [UInt8(ascii: "\""), UInt8(ascii: "\\")]
        for length in 1...19 {
            let plain = (0..<length).map { filler[$0 % filler.count] }
            XCTAssertEqual(written(plain), referenceEscape(plain), "plain string of \(length) bytes")
            for position in 0..<length {
                for b in escapable {
                    var s = plain
                    s[position] = b
                    XCTAssertEqual(written(s), referenceEscape(s), "byte \(b) at \(position) of \(length)")
                }
            }
        }
        XCTAssertEqual(written([]), Array(#""""#.utf8))
    }

    func testBytesJustAroundTheEscapedRangesAreLeftAlone() {
        let near: [UInt8] = [0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x7F, 0x80, 0x9F, 0xA0, 0xA2, 0xDC, 0xFF]
        for rotation in 0..<near.count {
            let s = Array(near[rotation...] + near[..<rotation])
            XCTAssertEqual(written(s), referenceEscape(s))
        }
    }

    private func withTree(_ text: String, _ body: (UnsafeMutablePointer<json_t>) -> Void) {
        let doc = JSONDocument(parsing: text)!
        body(doc.root.raw!)
    }

    func testEnvelopeFindsWhatKeyLookupsFind() {
        let lines = [
            #"{"id":4,"src":"c3","dest":"n0","body":{"type":"echo","msg_id":1,"echo":"Please echo 35"}}"#,
            #"{"body":{"in_reply_to":9,"msg_id":2,"type":"x_ok"},"dest":"n1","src":"n2"}"#,
            #"{"s":1,"sr":2,"srcx":3,"src":"c1","d":0,"destination":"no","dest":"n0","bodyx":{},"body":{"t":1,"typed":2,"type":"a","m":0,"msg_idx":5,"msg_id":6,"i":0,"in_reply_to_x":1}}"#,
            #"{"src":"first","src":"last","dest":"n0","body":{"type":"a","type":"b"}}"#,
            #"{"src":5,"dest":null,"body":"text"}"#,
            #"{"src":"c1","dest":"n0","body":{"type":7,"msg_id":"8","in_reply_to":1.5}}"#,
            #"{}"#,
        ]
        for line in lines {
            withTree(line) { tree in
                let e = Envelope(tree)
                let root = JSON(tree)
                XCTAssertEqual(e.src.raw, root["src"].raw, line)
                XCTAssertEqual(e.dest.raw, root["dest"].raw, line)
                XCTAssertEqual(e.body.raw, root["body"].raw, line)
                XCTAssertEqual(e.type.raw, root["body"]["type"].raw, line)
                XCTAssertEqual(e.msgID.raw, root["body"]["msg_id"].raw, line)
                XCTAssertEqual(e.inReplyTo.raw, root["body"]["in_reply_to"].raw, line)
            }
        }
    }

    func testRecentStringGivesTheSameStringsAsDecoding() {
        var recent = RecentString()
        let inputs = ["c1", "c1", "c10", "c1", "", "n0", "n0", "exactly16bytes!!", "exactly16bytes!?",
                      "seventeen bytes!!", "seventeen bytes!!", "é", "\u{FFFD}", "c1"]
        for s in inputs {
            let bytes = Array(s.utf8)
            let got = bytes.withUnsafeBytes { recent.string($0) }
            XCTAssertEqual(got, s)
        }
        // Invalid UTF-8 is repaired the same way, cached or not.
        let bad: [UInt8] = [0x63, 0xFF, 0x31]
        let first = bad.withUnsafeBytes { recent.string($0) }
        let again = bad.withUnsafeBytes { recent.string($0) }
        XCTAssertEqual(first, String(decoding: bad, as: UTF8.self))
        XCTAssertEqual(again, first)
    }

    func testEnvelopeHeadFollowsTheNodeIDAndEscapesIt() {
        let transport = ManualTransport()
        let node = Node(transport: transport, handler: RecordingHandler())
        let initLine = #"{"src":"c0","dest":"n\"1","body":{"type":"init","msg_id":1,"node_id":"n\"1","node_ids":["n\"1"]}}"#
        var t = initLine
        t.withUTF8 { node.receive(line: UnsafeRawBufferPointer($0)) }
        XCTAssertEqual(transport.messages.last?["src"], "n\"1")
        XCTAssertEqual(transport.messages.last?["dest"], "c0")
        XCTAssertEqual(transport.messages.last?["body"], ["type": "init_ok", "in_reply_to": 1])
    }
}
