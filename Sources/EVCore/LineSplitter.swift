#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a byte stream into "\n"-terminated lines. Complete lines inside one chunk are handed
/// out in place (no copy); only a line split across chunks is buffered. A line longer than
/// `maxLineBytes` is not buffered whole: its first bytes are kept for the log, the rest is skipped
/// up to the next newline, and every byte of it streams through a `RawFieldScanner`, so the
/// sender can be answered wherever `src` and `msg_id` sit in the line, in constant memory.
public struct LineSplitter {
    public enum Event {
        case line(UnsafeRawBufferPointer)
        /// A line over the limit: its first `prefix` bytes, its full length, and the envelope
        /// fields found anywhere in it.
        case oversized(prefix: UnsafeRawBufferPointer, length: Int, fields: RawFieldScanner.Fields)
    }

    public let maxLineBytes: Int
    /// How much of an oversized line is kept for the log.
    public static let oversizedPrefixBytes = 4096

    private let partial = ByteBuffer(capacity: 1024)
    private var discarding = false
    private var discardedLength = 0
    private var scanner = RawFieldScanner()

    public init(maxLineBytes: Int = 1 << 20) {
        self.maxLineBytes = maxLineBytes
    }

    /// Bytes buffered for a line not yet terminated.
    public var pendingBytes: Int { discarding ? discardedLength : partial.readableBytes }

    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ onEvent: (Event) -> Void) {
        feed(chunk, pauseWhen: { false }, onEvent)
    }

    /// Like `feed`, but stops after the first complete line for which `pauseWhen()` is true and
    /// returns how many bytes of `chunk` were consumed; the caller feeds the rest later. The
    /// event loop uses this to stop reading mid-chunk once its output queue is full.
    @discardableResult
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, pauseWhen: () -> Bool,
                              _ onEvent: (Event) -> Void) -> Int {
        guard let base = chunk.baseAddress else { return chunk.count }
        var start = 0
        while start < chunk.count {
            let remaining = chunk.count - start
            let found = memchr(base + start, 0x0A, remaining)
            let end = found.map { base.distance(to: UnsafeRawPointer($0)) } ?? chunk.count
            let piece = UnsafeRawBufferPointer(rebasing: chunk[start..<end])
            if found == nil {
                accumulate(piece)
                return chunk.count
            }
            if discarding {
                accumulate(piece)
                finishOversized(onEvent)
            } else if partial.isEmpty {
                if piece.count > maxLineBytes {
                    partial.append(UnsafeRawBufferPointer(rebasing: piece.prefix(Self.oversizedPrefixBytes)))
                    onEvent(.oversized(prefix: partial.readable, length: piece.count,
                                       fields: RawFieldScanner.fields(in: piece)))
                    partial.clear()
                } else if !piece.isEmpty {
                    onEvent(.line(piece))
                }
            } else {
                accumulate(piece)
                if discarding {
                    finishOversized(onEvent)
                } else {
                    onEvent(.line(partial.readable))
                    partial.clear()
                }
            }
            start = end + 1
            if pauseWhen() { return start }
        }
        return chunk.count
    }

    /// End of input: an unterminated last line is still delivered, so nothing sent is lost.
    public mutating func finish(_ onEvent: (Event) -> Void) {
        if discarding {
            finishOversized(onEvent)
        } else if !partial.isEmpty {
            onEvent(.line(partial.readable))
            partial.clear()
        }
    }

    private mutating func accumulate(_ piece: UnsafeRawBufferPointer) {
        if discarding {
            discardedLength += piece.count
            scanner.feed(piece)
            let keep = max(0, Self.oversizedPrefixBytes - partial.readableBytes)
            partial.append(UnsafeRawBufferPointer(rebasing: piece.prefix(keep)))
        } else if partial.readableBytes + piece.count > maxLineBytes {
            // Switch to skipping: keep only the prefix for the error report.
            discardedLength = partial.readableBytes + piece.count
            scanner = RawFieldScanner()
            scanner.feed(partial.readable)
            scanner.feed(piece)
            let keep = max(0, Self.oversizedPrefixBytes - partial.readableBytes)
            if partial.readableBytes > Self.oversizedPrefixBytes {
                partial.truncate(to: Self.oversizedPrefixBytes)
            }
            partial.append(UnsafeRawBufferPointer(rebasing: piece.prefix(keep)))
            discarding = true
        } else {
            partial.append(piece)
        }
    }

    private mutating func finishOversized(_ onEvent: (Event) -> Void) {
        onEvent(.oversized(prefix: partial.readable, length: discardedLength, fields: scanner.fields))
        scanner = RawFieldScanner()
        partial.clear()
        discarding = false
        discardedLength = 0
    }
}
