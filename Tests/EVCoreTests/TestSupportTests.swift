import EVCore
import EVTestSupport
import Logging
import XCTest

/// The shared helpers must catch what they claim to catch, or tests built on them pass vacuously.
final class TestSupportTests: XCTestCase {
    private func transmit(_ text: String, to transport: ManualTransport) {
        var t = text
        t.withUTF8 { transport.transmit(dest: "c1", line: UnsafeRawBufferPointer($0)) }
    }

    func testManualTransportKeepsGoodLinesAndFlagsBadFraming() {
        let transport = ManualTransport()
        transmit(#"{"src":"n0","dest":"c1","body":{"type":"x"}}"# + "\n", to: transport)
        transmit(#"{"src":"n0"}"#, to: transport)                      // no newline
        transmit("{}\n{}\n", to: transport)                            // two lines in one
        transmit("not json\n", to: transport)
        XCTAssertEqual(transport.messages, [["src": "n0", "dest": "c1", "body": ["type": "x"]]])
        XCTAssertEqual(transport.destinations, ["c1"])
        XCTAssertEqual(transport.bodies, [["type": "x"]])
        XCTAssertEqual(transport.framingErrors.count, 3)
    }

    func testManualTransportClockDrivesTheNodesTimers() {
        let transport = ManualTransport()
        let node = Node(transport: transport, handler: NoHandler())
        var fired = 0
        node.after(.ms(5)) { fired += 1 }
        transport.advance(to: .ms(4), node)
        XCTAssertEqual(fired, 0)
        transport.advance(to: .ms(5), node)
        XCTAssertEqual(fired, 1)
        XCTAssertEqual(transport.wallClock, transport.wallClockOrigin + .ms(5))
    }

    func testLogCaptureKeepsLevelMessageAndMergedMetadata() {
        let logs = LogCapture()
        var logger = logs.logger(label: "t", level: .info)
        logger[metadataKey: "node"] = "n1"
        logger.debug("below the level")
        logger.warning("late reply", metadata: ["msg": "7"])
        XCTAssertEqual(logs.records.count, 1)
        XCTAssertEqual(logs.records.first?.level, .warning)
        XCTAssertEqual(logs.records.first?.label, "t")
        XCTAssertEqual(logs.records.first?.metadata, ["node": "n1", "msg": "7"])
        XCTAssertTrue(logs.contains("late", level: .warning))
        XCTAssertFalse(logs.contains("late", level: .error))
        logs.clear()
        XCTAssertEqual(logs.messages(), [])
    }
}

private final class NoHandler: MessageHandler {
    func nodeDidInit(_ node: Node) {}
    func handle(_ message: Message, node: Node) {}
}
