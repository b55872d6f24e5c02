import Foundation
import Logging

/// Keeps swift-log records in memory so a test can assert on what was logged.
///
///     let logs = LogCapture()
///     let node = Node(transport: transport, handler: handler, logger: logs.logger())
///     ...
///     XCTAssertTrue(logs.contains("malformed JSON", level: .error))
///
/// Thread-safe: handlers may log from any thread (the process tests' pipe readers do).
public final class LogCapture: @unchecked Sendable {
    public struct Record: Sendable {
        public let level: Logger.Level
        public let message: String
        public let label: String
        /// The record's metadata merged over the logger's, rendered with `description`.
        public let metadata: [String: String]
    }

    private let lock = NSLock()
    private var stored: [Record] = []

    public init() {}

    /// A logger whose records land here. `level` is its minimum level (default: everything).
    public func logger(label: String = "test", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { label in CapturingLogHandler(capture: self, label: label) }
        logger.logLevel = level
        return logger
    }

    /// All records so far, oldest first.
    public var records: [Record] {
        lock.lock(); defer { lock.unlock() }
        return stored
    }

    /// The messages of the records at `level` (all levels if nil).
    public func messages(level: Logger.Level? = nil) -> [String] {
        records.filter { level == nil || $0.level == level }.map(\.message)
    }

    /// True if some record (at `level`, if given) contains `text` in its message.
    public func contains(_ text: String, level: Logger.Level? = nil) -> Bool {
        messages(level: level).contains { $0.contains(text) }
    }

    public func clear() {
        lock.lock(); defer { lock.unlock() }
        stored.removeAll()
    }

    fileprivate func append(_ record: Record) {
        lock.lock(); defer { lock.unlock() }
        stored.append(record)
    }
}

/// The `LogHandler` behind `LogCapture.logger(label:level:)`.
public struct CapturingLogHandler: LogHandler {
    public var logLevel: Logger.Level = .trace
    public var metadata: Logger.Metadata = [:]
    private let capture: LogCapture
    private let label: String

    public init(capture: LogCapture, label: String) {
        self.capture = capture
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        capture.append(.init(level: event.level, message: event.message.description, label: label,
                             metadata: merged.mapValues(\.description)))
    }
}
