import CLibEV
import EVCore
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The real process's transport: one libev loop on one thread, reading stdin without blocking,
/// buffering stdout and driving the node's timers.
///
/// Output is flushed when the input available right now has been handled (an `ev_prepare`
/// watcher runs just before the loop would block) or when it passes `flushThreshold`, so a busy
/// node makes one write(2) per batch and an idle node never holds a reply back.
public final class EventLoop: Transport {
    public var node: Node!
    public private(set) var output = ByteBuffer(capacity: 1 << 16)

    private let loop: OpaquePointer
    private let logger: Logger
    private var splitter: LineSplitter
    /// Kept outside the splitter: its callbacks run while the splitter is being mutated.
    private let maxLineBytes: Int
    private let stdinWatcher = UnsafeMutablePointer<ev_io>.allocate(capacity: 1)
    private let stdoutWatcher = UnsafeMutablePointer<ev_io>.allocate(capacity: 1)
    private let timer = UnsafeMutablePointer<ev_timer>.allocate(capacity: 1)
    private let prepare = UnsafeMutablePointer<ev_prepare>.allocate(capacity: 1)
    private let readBuffer = UnsafeMutableRawPointer.allocate(byteCount: EventLoop.readChunk, alignment: 16)
    private var armedDeadline: Micros?
    private var cachedNow: Micros = 0
    private var stdoutIsNonBlocking = false
    private var readingPaused = false
    private var stdoutClosed = false

    static let readChunk = 1 << 16
    /// Write out early when this much is queued, so a long burst of input is not answered all at once.
    static let flushThreshold = 1 << 16
    /// Stop reading stdin while this much output is stuck in a full pipe (back-pressure).
    static let pauseReadingAbove = 16 << 20

    public init(maxLineBytes: Int, logger: Logger) {
        self.logger = logger
        splitter = LineSplitter(maxLineBytes: maxLineBytes)
        self.maxLineBytes = maxLineBytes
        loop = evshim_default_loop()
        signal(SIGPIPE, SIG_IGN)
        refreshClock()
    }

    deinit {
        stdinWatcher.deallocate(); stdoutWatcher.deallocate(); timer.deallocate(); prepare.deallocate()
        readBuffer.deallocate()
    }

    // MARK: Transport

    public var now: Micros { cachedNow }

    public var wallClock: Micros {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Micros(ts.tv_sec) * 1_000_000 + Micros(ts.tv_nsec / 1000)
    }

    public func transmit(dest: String, line: UnsafeRawBufferPointer) {
        if stdoutClosed { return }
        output.append(line)
        if output.readableBytes >= Self.flushThreshold { flush() }
    }

    /// Nothing to do here: the prepare watcher re-arms the timer before the loop next blocks.
    public func timersChanged() {}

    // MARK: running

    /// Runs until stdin reaches end of file and all output is written.
    public func run() {
        setNonBlocking(0)
        var st = stat()
        if fstat(1, &st) == 0 && ((st.st_mode & S_IFMT) == S_IFIFO || (st.st_mode & S_IFMT) == S_IFSOCK) {
            // Only pipes and sockets: a terminal or file may be shared with other processes.
            setNonBlocking(1)
            stdoutIsNonBlocking = true
        }
        let me = Unmanaged.passUnretained(self).toOpaque()

        evshim_io_init(stdinWatcher, { _, w, _ in EventLoop.from(w!.pointee.data).readInput() }, 0, Int32(EV_READ))
        stdinWatcher.pointee.data = me
        ev_io_start(loop, stdinWatcher)

        evshim_io_init(stdoutWatcher, { _, w, _ in EventLoop.from(w!.pointee.data).writable() }, 1, Int32(EV_WRITE))
        stdoutWatcher.pointee.data = me

        evshim_timer_init(timer, { _, w, _ in EventLoop.from(w!.pointee.data).timerFired() }, 0, 0)
        timer.pointee.data = me

        evshim_prepare_init(prepare, { _, w, _ in EventLoop.from(w!.pointee.data).beforeBlocking() })
        prepare.pointee.data = me
        ev_prepare_start(loop, prepare)

        ev_run(loop, 0)
        if stdoutIsNonBlocking { setBlocking(1) }
        flush()
    }

    private static func from(_ data: UnsafeMutableRawPointer?) -> EventLoop {
        Unmanaged<EventLoop>.fromOpaque(data!).takeUnretainedValue()
    }

    private func refreshClock() {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        cachedNow = Micros(ts.tv_sec) * 1_000_000 + Micros(ts.tv_nsec / 1000)
    }

    // MARK: callbacks

    private func readInput() {
        // Read until the pipe is empty, so the prepare watcher flushes once for the whole batch.
        while !readingPaused {
            let n = read(0, readBuffer, Self.readChunk)
            if n > 0 {
                refreshClock()
                let chunk = UnsafeRawBufferPointer(start: readBuffer, count: n)
                splitter.feed(chunk) { handle($0) }
                if output.readableBytes >= Self.pauseReadingAbove { pauseReading() }
                continue
            }
            if n == 0 {
                endOfInput()
                return
            }
            if errno == EINTR { continue }
            if errno != EAGAIN && errno != EWOULDBLOCK {
                logger.error("stdin read failed: errno \(errno); stopping")
                endOfInput()
            }
            return
        }
    }

    private func handle(_ event: LineSplitter.Event) {
        switch event {
        case .line(let bytes): node.receive(line: bytes)
        case .oversized(let prefix, let length):
            node.rejectOversized(prefix: prefix, length: length, limit: maxLineBytes)
        }
    }

    private func endOfInput() {
        splitter.finish { handle($0) }
        logger.info("stdin closed; flushing \(output.readableBytes) bytes and exiting")
        ev_io_stop(loop, stdinWatcher)
        ev_timer_stop(loop, timer)
        ev_prepare_stop(loop, prepare)
        ev_io_stop(loop, stdoutWatcher)
        ev_break(loop, Int32(EVBREAK_ALL))
    }

    private func timerFired() {
        refreshClock()
        armedDeadline = nil
        node.fireTimers()
    }

    private func beforeBlocking() {
        flush()
        armTimer()
    }

    private func armTimer() {
        let next = node.nextDeadline
        if next == armedDeadline { return }
        ev_timer_stop(loop, timer)
        armedDeadline = next
        guard let next else { return }
        refreshClock()
        let delay = Double(max(next - cachedNow, 0)) / 1e6
        evshim_timer_set(timer, delay, 0)
        ev_timer_start(loop, timer)
    }

    private func writable() {
        flush()
    }

    /// Writes as much queued output as the pipe takes; waits for writability for the rest.
    private func flush() {
        while !output.isEmpty {
            let readable = output.readable
            let n = write(1, readable.baseAddress, readable.count)
            if n > 0 {
                output.consume(n)
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                if evshim_is_active(stdoutWatcher) == 0 { ev_io_start(loop, stdoutWatcher) }
                return
            }
            logger.error("stdout write failed: errno \(errno); dropping output")
            stdoutClosed = true
            output.clear()
            break
        }
        if evshim_is_active(stdoutWatcher) != 0 { ev_io_stop(loop, stdoutWatcher) }
        if readingPaused { resumeReading() }
    }

    private func pauseReading() {
        readingPaused = true
        ev_io_stop(loop, stdinWatcher)
    }

    private func resumeReading() {
        readingPaused = false
        ev_io_start(loop, stdinWatcher)
    }

    private func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    private func setBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
    }
}
