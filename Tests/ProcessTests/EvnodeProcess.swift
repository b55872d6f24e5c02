import EVCore
import Foundation
import XCTest

/// Runs the built `evnode` binary as Maelstrom would: JSON lines on its stdin, reading its stdout
/// and stderr. Tests use it to check what actually crosses the pipes.
///
/// Nothing here sleeps for a fixed time. The pipe readers and the termination handler signal one
/// condition variable whenever a stdout line arrives, a pipe reaches end of file or the process
/// exits; every `wait…` blocks on it until its predicate holds or its (generous) timeout passes, so
/// a test is as fast as the node and fails only if the awaited thing never happens.
final class EvnodeProcess: @unchecked Sendable {
    let process = Process()
    private let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()

    /// Guards the state below and is signalled whenever it changes.
    private let changed = NSCondition()
    private var lines: [String] = []
    private var parsed: [JSONValue] = [] // the lines that are JSON, in order
    private var errData = Data()
    private var stdoutEOF = false, stderrEOF = false, exited = false
    /// Lines to Maelstrom's kv services: answered by `services`, kept out of `outputLines`.
    private var serviceRequests: [JSONValue] = []
    private let services: ServiceKV
    private let onLine: ((String, JSONValue?) -> Void)?

    /// Start skew (nil: none): lines after `init_ok` pass `outputLine`, kv replies `serviceLine`.
    let skew: NodeSkew?
    private let outputLine: DelayLine?, serviceLine: DelayLine?
    /// Only touched on the stdout reader thread.
    private var pendingOut = Data() // stdout bytes after the last newline
    private var initAnswered = false // the node wrote its init_ok

    /// Writes go through one serial queue so a caller (or the cluster router, which forwards from a
    /// pipe-reader thread) never blocks on a full pipe, and the writes reach the node in call order.
    private let writer = DispatchQueue(label: "evnode-process.stdin")
    private var inputClosed = false // only touched on `writer`
    private var midLine = false // the last write did not end a line (only on `writer`)
    private var deferredServiceReplies: [Data] = [] // only on `writer`

    /// Ignoring SIGPIPE turns a write to a node that already exited into an error we drop,
    /// instead of a signal that kills the test runner.
    private static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// The binary: $EVNODE_BIN, or `evnode` next to the test bundle in the build directory.
    static var binaryURL: URL {
        if let path = ProcessInfo.processInfo.environment["EVNODE_BIN"] { return URL(fileURLWithPath: path) }
        var dir = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("evnode")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        for bundle in Bundle.allBundles {
            let candidate = bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("evnode")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: ".build/debug/evnode")
    }

    /// Starts the binary. `onLine` is called with every complete stdout line (and its parse, nil if
    /// it is not JSON), in order, on a pipe-reader thread; the line is already in `outputLines`.
    /// Lines to a kv service (lin-kv, seq-kv, lww-kv) are answered from `services`, as Maelstrom
    /// would, and kept apart (`serviceLines`), so `outputLines` holds what the node says to clients
    /// and peers.
    ///
    /// With a `skew`, the process is a slow one: each stdout line after its `init_ok` is taken
    /// (recorded, answered if to a kv service, passed to `onLine`) `skew.outputDelay` after it was
    /// written, in order, and each kv reply is written to its stdin `skew.serviceReplyDelay` late.
    init(arguments: [String] = [], services: ServiceKV = ServiceKV(), skew: NodeSkew? = nil,
         onLine: ((String, JSONValue?) -> Void)? = nil) throws {
        _ = Self.ignoreSIGPIPE
        self.services = services
        self.onLine = onLine
        self.skew = skew
        outputLine = skew.map { _ in DelayLine(name: "evnode-output-skew") }
        serviceLine = skew.flatMap { $0.serviceReplyDelay > 0 ? DelayLine(name: "evnode-kv-skew") : nil }
        process.executableURL = Self.binaryURL
        process.arguments = arguments
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        process.terminationHandler = { [weak self] _ in self?.update { self?.exited = true } }
        try process.run()
        // One blocking reader thread per pipe, until end of file. (FileHandle.readabilityHandler
        // stopped firing with data left in the pipe once the child had exited, on Linux.)
        Self.startReader(stdout.fileHandleForReading.fileDescriptor, name: "evnode-stdout") { [weak self] chunk in
            self?.receiveStdout(chunk)
        }
        Self.startReader(stderr.fileHandleForReading.fileDescriptor, name: "evnode-stderr") { [weak self] chunk in
            guard let self else { return }
            self.update { if chunk.isEmpty { self.stderrEOF = true } else { self.errData.append(chunk) } }
        }
    }

    deinit {
        if process.isRunning { process.terminate() }
        outputLine?.close()
        serviceLine?.close()
    }

    // MARK: input

    func write(bytes: [UInt8]) {
        let data = Data(bytes)
        writer.async { [self] in
            guard !inputClosed else { return }
            try? stdin.fileHandleForWriting.write(contentsOf: data) // fails only if the node is gone
            midLine = data.last.map { $0 != 0x0A } ?? midLine
            if !midLine {
                for line in deferredServiceReplies { try? stdin.fileHandleForWriting.write(contentsOf: line) }
                deferredServiceReplies.removeAll()
            }
        }
    }

    /// A service's reply, written between whole lines: a test may be writing a line in pieces.
    private func sendServiceReply(_ line: String) {
        let data = Data((line + "\n").utf8)
        writer.async { [self] in
            guard !inputClosed else { return }
            if midLine { deferredServiceReplies.append(data) } else { try? stdin.fileHandleForWriting.write(contentsOf: data) }
        }
    }

    func write(_ text: String) { write(bytes: Array(text.utf8)) }

    func send(_ line: String) { write(line + "\n") }

    /// Closes stdin after everything written so far; evnode flushes its output and exits on EOF.
    func closeInput() {
        writer.async { [self] in
            guard !inputClosed else { return }
            inputClosed = true
            try? stdin.fileHandleForWriting.close()
        }
    }

    // MARK: output

    /// Complete stdout lines so far.
    var outputLines: [String] { update { lines } }

    /// The stdout lines that parsed as JSON, in order.
    var messages: [JSONValue] { update { parsed } }

    var stderrText: String { update { String(decoding: errData, as: UTF8.self) } }

    // MARK: waiting

    /// Waits until at least `count` lines arrived on stdout (or the timeout passes, or stdout ends).
    @discardableResult
    func waitForLines(_ count: Int, timeout: TimeInterval = 10) -> [String] {
        wait(timeout: timeout) { lines.count >= count || stdoutEOF }
        return outputLines
    }

    /// The first stdout message after the first `skip` messages that matches `predicate`; nil if
    /// none arrived within `timeout` (or before stdout ended).
    func waitForMessage(after skip: Int = 0, timeout: TimeInterval = 10,
                        where predicate: (JSONValue) -> Bool) -> JSONValue? {
        var found: JSONValue?
        wait(timeout: timeout) {
            found = parsed.dropFirst(skip).first(where: predicate)
            return found != nil || stdoutEOF
        }
        return found
    }

    /// The body of the reply to a client's request `msgID` (any message to a `c…` id carrying
    /// that `in_reply_to`), or nil if none came within `timeout`.
    func waitForReply(to msgID: Int, timeout: TimeInterval = 10) -> JSONValue? {
        waitForMessage(timeout: timeout) {
            isClientID($0["dest"]?.string ?? "") && $0["body"]?["in_reply_to"]?.int == msgID
        }?["body"]
    }

    /// What the node sent to kv services (answered by the harness), in order.
    var serviceLines: [JSONValue] { update { serviceRequests } }

    /// Waits until stderr holds `text`; returns the stderr text then, nil on timeout.
    func waitForStderr(containing text: String, timeout: TimeInterval = 10) -> String? {
        let found = wait(timeout: timeout) { String(decoding: errData, as: UTF8.self).contains(text) }
        return found ? stderrText : nil
    }

    /// Waits until the process exited and both its stdout and stderr reached end of file, so all
    /// it wrote is in `outputLines` and `stderrText`. Returns the exit status, nil on timeout.
    func waitForExit(timeout: TimeInterval = 10) -> Int32? {
        guard wait(timeout: timeout, until: { exited && stdoutEOF && stderrEOF }) else { return nil }
        return process.terminationStatus
    }

    /// Closes stdin and waits for the exit, as a Maelstrom run ends.
    func finish(timeout: TimeInterval = 10) -> Int32? {
        closeInput()
        return waitForExit(timeout: timeout)
    }

    // MARK: private

    /// Reads a copy of `pipeFD` on a thread of its own, passing each chunk to `deliver`, then one
    /// empty chunk at end of file. It holds only `deliver`, so a forgotten process is still freed
    /// (and killed), and its own descriptor, so freeing the Pipe cannot close it under the read.
    private static func startReader(_ pipeFD: Int32, name: String, _ deliver: @escaping (Data) -> Void) {
        let fd = dup(pipeFD)
        let thread = Thread {
            defer { close(fd) }
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                deliver(Data(buffer[..<n]))
            }
            deliver(Data())
        }
        thread.name = name
        thread.start()
    }

    /// Runs `body` under the lock and wakes every waiter.
    private func update<T>(_ body: () -> T) -> T {
        changed.lock()
        defer { changed.broadcast(); changed.unlock() }
        return body()
    }

    /// Stdout bytes (on the reader thread): each line they complete is taken, at once or, past
    /// `init_ok` behind a skew, through `outputLine`. An empty chunk is end of file.
    private func receiveStdout(_ d: Data) {
        if d.isEmpty {
            return pass { [self] in
                update { stdoutEOF = true }
                outputLine?.close()
                serviceLine?.close() // no more requests, so no more replies
            }
        }
        pendingOut.append(d)
        while let nl = pendingOut.firstIndex(of: 0x0A) {
            let line = String(decoding: pendingOut[pendingOut.startIndex..<nl], as: UTF8.self)
            pendingOut.removeSubrange(pendingOut.startIndex...nl)
            let value = JSONValue(parsing: line)
            pass { [self] in take(line, value) }
            if value?["body"]?["type"]?.string == "init_ok" { initAnswered = true }
        }
    }

    /// Runs `work` now, or behind the skew's output delay (none before `init_ok`, so the line
    /// keeps its place): the FIFO keeps the order either way.
    private func pass(_ work: @escaping () -> Void) {
        guard let outputLine, let skew else { return work() }
        outputLine.push(after: initAnswered ? skew.outputDelay : 0, work)
    }

    /// A complete stdout line as it reaches the harness: kept, answered if to a kv service, then
    /// passed to `onLine`.
    private func take(_ line: String, _ value: JSONValue?) {
        let service = value?["dest"]?.string.flatMap { ServiceKV.names.contains($0) ? $0 : nil }
        update {
            if service != nil { serviceRequests.append(value!); return }
            lines.append(line)
            if let value { parsed.append(value) }
        }
        if let service, let body = value?["body"] {
            let reply = services.reply(to: body, from: value?["src"]?.string ?? "", service: service).text
            if let serviceLine, let skew {
                serviceLine.push(after: skew.serviceReplyDelay) { [self] in sendServiceReply(reply) }
            } else {
                sendServiceReply(reply)
            }
        }
        onLine?(line, value)
    }

    /// Blocks until `done` (evaluated under the lock) holds or `timeout` passes; returns `done`.
    @discardableResult
    private func wait(timeout: TimeInterval, until done: () -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        changed.lock(); defer { changed.unlock() }
        while !done() {
            if !changed.wait(until: deadline) { return done() }
        }
        return true
    }

    static func initLine(_ id: String = "n0", ids: [String] = ["n0"], msgID: Int = 1) -> String {
        let list = ids.map { "\"\($0)\"" }.joined(separator: ",")
        return #"{"id":0,"src":"c0","dest":"\#(id)","body":{"type":"init","msg_id":\#(msgID),"node_id":"\#(id)","node_ids":[\#(list)]}}"#
    }
}
