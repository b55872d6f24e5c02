import EVCore
import Foundation
import XCTest

/// Runs the built `evnode` binary as Maelstrom would: JSON lines on its stdin, reading its stdout
/// and stderr. Tests use it to check what actually crosses the pipes.
final class EvnodeProcess {
    let process = Process()
    private let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    private var outBuffer = Data()
    private var errBuffer = Data()
    private let lock = NSLock()

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

    init(arguments: [String] = []) throws {
        process.executableURL = Self.binaryURL
        process.arguments = arguments
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        stdout.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self else { return }
            self.lock.lock(); self.outBuffer.append(d); self.lock.unlock()
        }
        stderr.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self else { return }
            self.lock.lock(); self.errBuffer.append(d); self.lock.unlock()
        }
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    func write(_ text: String) {
        stdin.fileHandleForWriting.write(Data(text.utf8))
    }

    func write(bytes: [UInt8]) {
        stdin.fileHandleForWriting.write(Data(bytes))
    }

    func send(_ line: String) { write(line + "\n") }

    func closeInput() { try? stdin.fileHandleForWriting.close() }

    /// Complete stdout lines so far.
    var outputLines: [String] {
        lock.lock(); defer { lock.unlock() }
        return String(decoding: outBuffer, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast().map(String.init)
    }

    var stderrText: String {
        lock.lock(); defer { lock.unlock() }
        return String(decoding: errBuffer, as: UTF8.self)
    }

    /// Waits until at least `count` lines arrived on stdout (or the timeout passes).
    @discardableResult
    func waitForLines(_ count: Int, timeout: TimeInterval = 10) -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        while outputLines.count < count && Date() < deadline { usleep(2000) }
        return outputLines
    }

    /// Waits for the process to exit; returns its status (nil if it did not exit in time).
    func waitForExit(timeout: TimeInterval = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(2000) }
        if process.isRunning { return nil }
        // Let the readability handlers drain what is left.
        usleep(50_000)
        return process.terminationStatus
    }

    /// Parsed stdout messages.
    var messages: [JSONValue] { outputLines.compactMap { JSONValue(parsing: $0) } }

    static func initLine(_ id: String = "n0", ids: [String] = ["n0"], msgID: Int = 1) -> String {
        let list = ids.map { "\"\($0)\"" }.joined(separator: ",")
        return #"{"id":0,"src":"c0","dest":"\#(id)","body":{"type":"init","msg_id":\#(msgID),"node_id":"\#(id)","node_ids":[\#(list)]}}"#
    }
}
