import EVSimCore
import EVCheckers
import EVCore
@testable import EVReports
import EVSim
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// messages.svg and timeline.html: what they draw, checked on the text, and (when Chromium is
/// installed) on what a browser renders (scripts/check-pictures.sh).
final class PicturesTests: XCTestCase {
    /// 3b under partitions, kills and pauses: some messages dropped, every kind of fault span.
    private static let faulty: TestResult = {
        var spec = Challenge.broadcast3b.spec
        spec.timeLimit = 12
        spec.nemesis = [.partition, .kill, .pause]
        spec.nemesisInterval = 2
        spec.seed = 4
        return Runner(spec: spec).run()
    }()

    private func svg(_ r: TestResult, _ options: PictureOptions = PictureOptions()) -> String {
        MessageDiagram.svg(r, options: options, title: "t", replayCommand: "evsim 3b --seed 4")
    }

    private func html(_ r: TestResult, _ options: PictureOptions = PictureOptions()) -> String {
        Timeline.html(r, options: options, title: "t", replayCommand: "evsim 3b --seed 4")
    }

    private func count(_ pattern: String, in text: String) -> Int {
        text.components(separatedBy: pattern).count - 1
    }

    /// Arrows (or, `lost`, only the stubs of undelivered messages), not the legend's samples.
    private func arrows(_ svg: String, lost: Bool = false) -> Int {
        (try? NSRegularExpression(pattern: lost ? #"<path class="m[cse] x""# : #"<(line|path) class="m[cse]( x)?""#))
            .map { $0.numberOfMatches(in: svg, range: NSRange(svg.startIndex..., in: svg)) } ?? -1
    }

    func testEveryMessageIsAnArrowAndEveryOperationABox() {
        let r = Self.faulty
        XCTAssertLessThan(r.messages.count, PictureOptions().messageCap)
        XCTAssertEqual(r.messages.count, r.traceHash.messages, "the log holds exactly the traced messages")
        let undelivered = r.messages.filter { $0.deliveredAt == nil }
        XCTAssertTrue(undelivered.contains { $0.droppedAt != nil }, "a partition dropped something")
        XCTAssertTrue(r.messages.allSatisfy { r in r.deliveredAt.map { $0 >= r.message.deadline } ?? true },
                      "delivered at or after the deadline")

        let s = svg(r)
        XCTAssertEqual(arrows(s), r.messages.count)
        XCTAssertEqual(arrows(s, lost: true), undelivered.count, "a stub with a cross per lost message")
        XCTAssertTrue(s.contains("data-arrows=\"\(r.messages.count)\""))
        XCTAssertEqual(MessageDiagram.counts(r, options: PictureOptions()).drawn, r.messages.count)
        for shade in ["fp", "fk", "fz"] { XCTAssertTrue(s.contains("<rect class=\"\(shade)\" x="), "\(shade) shading") }

        let h = html(r)
        XCTAssertEqual(count("<div class=\"o ", in: h), r.history.count)
        XCTAssertEqual(Timeline.counts(r, options: PictureOptions()).drawn, r.history.count)
        XCTAssertTrue(h.contains("data-ops=\"\(r.history.count)\""))
        for band in ["b bp", "b bk", "b bz"] { XCTAssertTrue(h.contains("<div class=\"\(band)\""), band) }
        XCTAssertFalse(s.contains("Cut:") || h.contains("Cut:"))
    }

    func testARunWithoutMessagesDrawsEmptyPictures() {
        var r = Self.faulty
        r.messages = []
        let s = svg(r)
        XCTAssertEqual(arrows(s), 0)
        XCTAssertTrue(s.contains("data-arrows=\"0\"") && s.hasSuffix("</svg>\n"))
    }

    func testLanesAreNodesThenServicesThenClients() {
        let order = Pictures.laneOrder(["c3": 1, "lin-kv": 5, "n10": 1, "c12": 9, "n2": 1, "seq-kv": 1])
        XCTAssertEqual(order, ["n2", "n10", "lin-kv", "seq-kv", "c12", "c3"])
    }

    func testCapSaysWhereItCut() {
        var options = PictureOptions()
        options.messageCap = 100
        options.operationCap = 30
        let r = Self.faulty
        let s = svg(r, options)
        XCTAssertEqual(arrows(s), 100)
        let cutAt = Pictures.seconds(r.messages[100].message.sentAt, 3)
        XCTAssertTrue(s.contains("Cut: only the first 100 of \(r.messages.count) messages, up to \(cutAt) s."), s.prefix(2000).description)
        XCTAssertTrue(s.contains("evsim 3b --seed 4 --diagram-window \(cutAt):"))
        let h = html(r, options)
        XCTAssertEqual(count("<div class=\"o ", in: h), 30)
        XCTAssertTrue(h.contains("Cut: only the first 30 of \(r.history.count) operations"))
    }

    func testWindowDrawsEverythingThatOverlapsIt() throws {
        let window = try XCTUnwrap(PictureOptions.parseWindow("3:5.5"))
        XCTAssertEqual(window, 3_000_000...5_500_000)
        for bad in ["5:3", "3", "a:b", "-1:2", "3:3"] { XCTAssertNil(PictureOptions.parseWindow(bad), bad) }
        XCTAssertEqual(PictureOptions.windowArgument(window), "3.000:5.500")

        let r = Self.faulty
        var options = PictureOptions(window: window)
        options.messageCap = 10 // a window ignores the default cap
        let expected = r.messages.filter { $0.message.sentAt <= window.upperBound && MessageDiagram.end($0) >= window.lowerBound }
        XCTAssertGreaterThan(expected.count, 10)
        let s = svg(r, options)
        XCTAssertEqual(arrows(s), expected.count)
        XCTAssertTrue(s.contains("data-window=\"3.000:5.500\""))
        XCTAssertFalse(s.contains("Cut:"))
        let ops = r.history.filter { $0.invokedAt <= window.upperBound && Timeline.end($0, r) >= window.lowerBound }
        XCTAssertEqual(count("<div class=\"o ", in: html(r, options)), ops.count)

        let failure = PictureOptions.failureWindow(r)
        XCTAssertLessThan(failure.lowerBound, failure.upperBound)
        XCTAssertNotNil(r.history.first { !($0.outcome?.isOK ?? false) }.map { failure.contains($0.invokedAt) })
    }

    func testBodiesAreEscapedAndLongOnesCut() throws {
        XCTAssertEqual(Pictures.escape(#"<a href="x">&'"#), #"&lt;a href="x"&gt;&amp;'"#)
        XCTAssertEqual(Pictures.escape(#"a"b'c"#, quote: "\""), "a&quot;b'c")
        XCTAssertEqual(Pictures.escape(#"a"b'c"#, quote: "'"), "a\"b&#39;c")

        var r = Self.faulty
        let last = try XCTUnwrap(r.messages.last)
        let long = String(repeating: "z", count: 1000)
        for (k, echo) in ["<b>&\"x\"</b>", long].enumerated() {
            let body: JSONValue = ["type": "echo_ok", "echo": .string(echo)]
            let line: JSONValue = ["src": "n0", "dest": "c1", "body": body]
            let message = SimMessage(id: last.message.id + 1 + k, src: "n0", dest: "c1", line: Array(line.text.utf8),
                                     sentAt: last.message.sentAt, deadline: last.message.sentAt)
            r.messages.append(MessageLog.Record(message: message, sendOrder: Int.max - 10 + 2 * k,
                                                deliveredAt: message.sentAt, endOrder: Int.max - 9 + 2 * k))
        }
        let s = svg(r)
        XCTAssertTrue(s.contains(#"&lt;b&gt;&amp;\"x\"&lt;/b&gt;"#))
        XCTAssertFalse(s.contains("<b>"))
        XCTAssertTrue(s.contains(String(repeating: "z", count: Pictures.clipLimit - 40) + "… ("))
        XCTAssertTrue(s.contains("more characters)"))
        XCTAssertFalse(s.contains(String(repeating: "z", count: Pictures.clipLimit)))
        // Well-formed XML throughout (every body, label and tooltip escaped).
        let parser = XMLParser(data: Data(s.utf8))
        XCTAssertTrue(parser.parse(), "\(String(describing: parser.parserError))")
    }

    func testSameRunSameBytes() {
        var spec = Challenge.broadcast3b.spec
        spec.timeLimit = 12
        spec.nemesis = [.partition, .kill, .pause]
        spec.nemesisInterval = 2
        spec.seed = 4
        let again = Runner(spec: spec).run()
        XCTAssertEqual(again.traceHash.hex, Self.faulty.traceHash.hex)
        XCTAssertEqual(svg(again), svg(Self.faulty))
        XCTAssertEqual(html(again), html(Self.faulty))
    }

    /// Recording the messages does not change a run: the trace of 3b is still the committed one.
    func testRecordingLeavesTheRunUnchanged() throws {
        let committed = try String(contentsOf: DeterminismTests.repository.appendingPathComponent("results/3b/run.json"), encoding: .utf8)
        let r = try XCTUnwrap(Challenges.named("3b")).run(seed: 1)
        XCTAssertTrue(committed.contains("\"trace-hash\": \"\(r.traceHash.hex)\""), "trace \(r.traceHash.hex) differs from results/3b/run.json")
    }

    /// The browser check: Chromium renders both pictures of a faulty run, not blank, with exactly
    /// as many arrows and boxes as the run has messages and operations. CI installs Chromium
    /// (scripts/install-deps.sh), so there a missing browser fails; elsewhere the test skips.
    func testPicturesRenderInChromium() throws {
        let which = Process()
        which.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        which.arguments = ["sh", "-c", "command -v chromium"]
        which.standardOutput = FileHandle.nullDevice
        try which.run()
        which.waitUntilExit()
        if which.terminationStatus != 0 {
            if ProcessInfo.processInfo.environment["CI"] == "true" { return XCTFail("chromium is not on PATH (scripts/install-deps.sh installs it)") }
            throw XCTSkip("chromium is not on PATH")
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("evsim-pictures-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: out) }
        let r = Self.faulty
        try ResultsWriter(directory: out.appendingPathComponent("3b")).write(r, challenge: .broadcast3b, replayCommand: "evsim 3b --seed 4")

        let check = Process()
        check.executableURL = DeterminismTests.repository.appendingPathComponent("scripts/check-pictures.sh")
        check.arguments = [out.path]
        let pipe = Pipe()
        check.standardOutput = pipe
        check.standardError = pipe
        try check.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        XCTAssertEqual(check.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("3b/messages.svg ok arrows=\(r.messages.count) of \(r.messages.count) (run: \(r.traceHash.messages))"), output)
        XCTAssertTrue(output.contains("3b/timeline.html ok boxes=\(r.history.count) of \(r.history.count) (run: \(r.history.count))"), output)
    }
}
