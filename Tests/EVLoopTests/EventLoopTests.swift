import Dispatch
import EVCore
import EVLoop
import Foundation
import Logging
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `EventLoop` (Sources/EVLoop/EventLoop.swift) on real file descriptors: it only reads fd 0 and
/// writes fd 1, so each test swaps them for pipes in this process (`StdioPipes`), runs the loop
/// on the test's thread and puts the real ones back. No test prints while the pipes are in place.
final class EventLoopTests: XCTestCase {
    private let logger = Logger(label: "evloop-test") { _ in SwiftLogNoOpLogHandler() }

    private func initLine(_ id: String = "n0") -> String {
        #"{"src":"c0","dest":"\#(id)","body":{"type":"init","msg_id":1,"node_id":"\#(id)","node_ids":["\#(id)","n1"]}}"# + "\n"
    }

    private func parse(_ output: String) -> [JSONValue] {
        output.split(separator: "\n").map { JSONValue(parsing: String($0)) ?? .string(String($0)) }
    }

    // MARK: timers

    /// A node timer fires at its deadline, not before, with the loop idle and stdin still open;
    /// timers fire in deadline order.
    func testNodeTimersFireAtTheirDeadlines() throws {
        let pipes = try StdioPipes()
        let loop = EventLoop(maxLineBytes: 1 << 20, logger: logger)
        var scheduledAt: Micros = 0, firedAt: [String: Micros] = [:]
        let handler = ScriptedHandler()
        handler.onInit = { node in
            scheduledAt = node.now
            node.after(.ms(80)) {
                firedAt["late"] = node.now
                node.send(to: "n1") { $0.field("type", "late") }
                pipes.closeInput() // the loop then reads end of file and returns
            }
            node.after(.ms(30)) {
                firedAt["early"] = node.now
                node.send(to: "n1") { $0.field("type", "early") }
            }
        }
        loop.node = Node(transport: loop, handler: handler, logger: logger)
        pipes.write(initLine())
        let started = DispatchTime.now()
        loop.run()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        let out = parse(pipes.finish())

        XCTAssertEqual(out.map { $0["body"]?["type"] }, ["init_ok", "early", "late"])
        let early = try XCTUnwrap(firedAt["early"]) - scheduledAt, late = try XCTUnwrap(firedAt["late"]) - scheduledAt
        XCTAssertGreaterThanOrEqual(early, .ms(30), "not before its deadline")
        XCTAssertGreaterThanOrEqual(late, .ms(80), "not before its deadline")
        XCTAssertLessThan(late, .ms(500), "and soon after it")
        XCTAssertLessThan(elapsed, 3)
    }

    // MARK: end of input

    /// At end of stdin the loop handles what it read (a last line without its newline too),
    /// writes every queued line and returns, though a timer is still pending.
    func testEndOfInputHandlesTheRestFlushesAndReturns() throws {
        let pipes = try StdioPipes()
        let loop = EventLoop(maxLineBytes: 1 << 20, logger: logger)
        let handler = ScriptedHandler()
        handler.onInit = { node in node.after(.seconds(60)) {} }
        handler.onMessage = { m, node in
            guard let req = m.request else { return }
            let n = m.body["n"].int ?? -1
            node.reply(to: req) { w in w.field("type", "pong"); w.field("n", n) }
        }
        loop.node = Node(transport: loop, handler: handler, logger: logger)
        var input = initLine()
        for n in 1...3 { input += #"{"src":"c1","dest":"n0","body":{"type":"ping","msg_id":\#(n + 1),"n":\#(n)}}"# + "\n" }
        input += #"{"src":"c1","dest":"n0","body":{"type":"ping","msg_id":9,"n":4}}"# // no newline: cut by EOF
        pipes.write(input)
        pipes.closeInput()
        let started = DispatchTime.now()
        loop.run()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        let out = parse(pipes.finish())

        XCTAssertEqual(out.map { $0["body"]?["type"] }, ["init_ok", "pong", "pong", "pong", "pong"])
        XCTAssertEqual(out.dropFirst().map { $0["body"]?["n"] }, [1, 2, 3, 4])
        XCTAssertLessThan(elapsed, 3, "the pending 60 s timer does not keep the loop running")
    }

    // MARK: output back-pressure

    /// stdout's reader stalls while a handler floods a peer. Past the hard cap, lines to the peer
    /// are dropped (counted) while a client reply is still queued; above the high-water mark the
    /// node sees `outputCongested` and the loop stops handling input (the next line waits, even
    /// though it was read in the same chunk) until the queue drains to the low-water mark.
    func testOutputOverTheCapDropsPeerLinesKeepsClientRepliesAndPausesInput() throws {
        let pipes = try StdioPipes(holdOutput: true)
        let limits = OutputLimits(highWater: 128 << 10, lowWater: 16 << 10, hardCap: 256 << 10)
        let loop = EventLoop(maxLineBytes: 1 << 20, logger: logger, limits: limits)
        let floodLines = 600, pad = String(repeating: "x", count: 1000)
        var congestedAfterFlood: Bool?, congestedAtNextLine: Bool?, queuedAfterFlood = 0
        let handler = ScriptedHandler()
        handler.onMessage = { m, node in
            guard let req = m.request else { return }
            if m.type == "flood" {
                for i in 0..<floodLines { node.send(to: "n1") { w in w.field("type", "junk"); w.field("i", i); w.field("pad", pad) } }
                // A client reply bigger than a peer line: past the cap only client replies fit.
                node.reply(to: req) { w in w.field("type", "flood_ok"); w.field("pad", pad + pad) }
                congestedAfterFlood = node.outputCongested
                queuedAfterFlood = loop.output.readableBytes
                pipes.startReading() // the reader catches up from now on
            } else {
                congestedAtNextLine = node.outputCongested
                node.reply(to: req, type: "next_ok")
            }
        }
        loop.node = Node(transport: loop, handler: handler, logger: logger)
        pipes.write(initLine() + #"{"src":"c1","dest":"n0","body":{"type":"flood","msg_id":2}}"# + "\n"
            + #"{"src":"c1","dest":"n0","body":{"type":"next","msg_id":3}}"# + "\n")
        pipes.closeInput()
        loop.run()
        let out = parse(pipes.finish())

        let types = out.map { $0["body"]?["type"]?.string ?? "?" }
        let junk = types.filter { $0 == "junk" }.count
        XCTAssertEqual(congestedAfterFlood, true, "over the high-water mark")
        XCTAssertGreaterThan(loop.stats.droppedLines, 0, "past the cap, peer lines go")
        XCTAssertEqual(junk + loop.stats.droppedLines, floodLines, "every peer line was written or counted as dropped")
        XCTAssertLessThanOrEqual(queuedAfterFlood, limits.hardCap + 2100, "the queue stays within the cap (plus the client reply)")
        XCTAssertLessThanOrEqual(loop.stats.peakOutputBytes, limits.hardCap + 2100)
        XCTAssertEqual(types.filter { $0 != "junk" }, ["init_ok", "flood_ok", "next_ok"], "client replies are never dropped, and stay in order")
        XCTAssertEqual(congestedAtNextLine, false, "the next line waited until the queue drained to the low-water mark")
        XCTAssertGreaterThanOrEqual(loop.stats.pauses, 1)
        XCTAssertFalse(loop.outputCongested)
        let sent = out.compactMap { $0["body"]?["i"]?.int }
        XCTAssertEqual(sent, sent.sorted(), "what was kept is in order")
    }
}

/// A `MessageHandler` made of closures.
final class ScriptedHandler: MessageHandler {
    var onInit: (Node) -> Void = { _ in }
    var onMessage: (Message, Node) -> Void = { _, _ in }
    func nodeDidInit(_ node: Node) { onInit(node) }
    func handle(_ message: Message, node: Node) { onMessage(message, node) }
}

/// Puts pipes on fds 0 and 1 of this process for one `EventLoop.run()`: the test writes stdin
/// (`write`, `closeInput`), a thread collects stdout (from the start, or from `startReading()`
/// with `holdOutput`, so the loop meets a full pipe), and `finish()` puts the real fds back and
/// returns what was written. A watchdog closes stdin and starts the reader after 10 s, so a broken
/// loop fails the test instead of hanging it.
final class StdioPipes: @unchecked Sendable {
    struct Failure: Error { let call: String }

    private let savedIn: Int32, savedOut: Int32
    private let inWrite: Int32, outRead: Int32
    private let lock = NSLock()
    private var inputOpen = true
    private var readingStarted = false
    private let gate = DispatchSemaphore(value: 0)
    private let readerDone = DispatchSemaphore(value: 0)
    private var collected: [UInt8] = []

    init(holdOutput: Bool = false) throws {
        fflush(stdout)
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0 else { throw Failure(call: "pipe") }
        savedIn = dup(0)
        savedOut = dup(1)
        guard savedIn >= 0, savedOut >= 0, dup2(inPipe[0], 0) == 0, dup2(outPipe[1], 1) == 1 else { throw Failure(call: "dup2") }
        close(inPipe[0])
        close(outPipe[1])
        inWrite = inPipe[1]
        outRead = outPipe[0]
        let reader = Thread { [self] in
            gate.wait()
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(outRead, $0.baseAddress, $0.count) }
                if n > 0 { collected += buffer[0..<n]; continue }
                if n < 0 && errno == EINTR { continue }
                break
            }
            readerDone.signal()
        }
        reader.start()
        if !holdOutput { startReading() }
        DispatchQueue.global().asyncAfter(deadline: .now() + 10) { [weak self] in
            self?.closeInput()
            self?.startReading()
        }
    }

    func write(_ text: String) {
        var t = text
        t.withUTF8 { bytes in
            var done = 0
            while done < bytes.count {
                let n = Glibc.write(inWrite, bytes.baseAddress! + done, bytes.count - done)
                if n <= 0 { break }
                done += n
            }
        }
    }

    func closeInput() {
        lock.lock(); defer { lock.unlock() }
        if inputOpen { close(inWrite) }
        inputOpen = false
    }

    func startReading() {
        lock.lock(); defer { lock.unlock() }
        if !readingStarted { gate.signal() }
        readingStarted = true
    }

    /// Restores fds 0 and 1 (closing the pipes' ends there), waits for the reader to see end of
    /// file, and returns everything written to stdout.
    func finish() -> String {
        closeInput()
        startReading()
        dup2(savedIn, 0)
        dup2(savedOut, 1)
        close(savedIn)
        close(savedOut)
        readerDone.wait()
        close(outRead)
        return String(decoding: collected, as: UTF8.self)
    }
}
