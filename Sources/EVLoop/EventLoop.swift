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
///
/// Queued output is bounded whatever stdout's reader does (policy in docs/hardening.md and
/// `OutputLimits`): above the high-water mark the loop stops handling input (even in the middle
/// of a read chunk) and reports `outputCongested`, so timer-driven peer traffic waits; it resumes
/// at the low-water mark. Past the hard cap, lines to peers and services are dropped (logged and
/// counted: peers resend, RPCs time out), while replies to clients are always queued, in order.
public final class EventLoop: Transport {
    public var node: Node!
    public private(set) var output = ByteBuffer(capacity: 1 << 16)
    public let limits: OutputLimits
    public private(set) var outputCongested = false
    /// Counters for logs and tests.
    public private(set) var stats = Stats()
    public struct Stats: Sendable {
        public var droppedLines = 0, droppedBytes = 0, peakOutputBytes = 0, pauses = 0
    }

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
    private var stdinDone = false
    private var stdoutClosed = false
    /// Bytes of `readBuffer` read but not yet handled (reading paused mid-chunk).
    private var inputStart = 0, inputEnd = 0
    /// Drops in the current congestion episode, logged once when it ends.
    private var episodeDrops = 0

    static let readChunk = 1 << 16
    /// Write out early when this much is queued, so a long burst of input is not answered all at once.
    static let flushThreshold = 1 << 16
    /// A drained output buffer bigger than this is given back to the allocator.
    static let keepOutputCapacity = 1 << 20

    public init(maxLineBytes: Int, logger: Logger, limits: OutputLimits = OutputLimits()) {
        self.logger = logger
        self.limits = limits
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
        if output.readableBytes + line.count > limits.hardCap && dest.utf8.first != UInt8(ascii: "c") {
            drop(dest: dest, bytes: line.count)
            return
        }
        output.append(line)
        if output.readableBytes > stats.peakOutputBytes { stats.peakOutputBytes = output.readableBytes }
        if output.readableBytes >= Self.flushThreshold {
            flush()
            if output.readableBytes > limits.highWater && !outputCongested { congest() }
        }
    }

    /// Past the hard cap: a line to a peer or a service is lost, as the network may lose it.
    /// Client replies never come here (they are bounded anyway: input is paused, so only replies
    /// owed to requests already read can still be queued).
    private func drop(dest: String, bytes: Int) {
        stats.droppedLines += 1
        stats.droppedBytes += bytes
        if episodeDrops == 0 {
            logger.warning("output queue over its \(limits.hardCap)-byte cap: dropping lines to peers and services (first: to \(dest))")
        }
        episodeDrops += 1
    }

    private func congest() {
        outputCongested = true
        stats.pauses += 1
        logger.notice("stdout reader is behind (\(output.readableBytes) bytes queued): pausing input and peer traffic")
        pauseReading()
    }

    private func decongest() {
        outputCongested = false
        if episodeDrops > 0 {
            logger.warning("output drained: \(episodeDrops) lines to peers/services were dropped while over the cap")
            episodeDrops = 0
        }
        resumeReading()
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
            if inputStart < inputEnd {
                handleBufferedInput()
                continue
            }
            let n = read(0, readBuffer, Self.readChunk)
            if n > 0 {
                refreshClock()
                inputStart = 0
                inputEnd = n
                handleBufferedInput()
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

    /// Handles read bytes line by line until they run out or the output queue passes its
    /// high-water mark; what is left waits in `readBuffer` until reading resumes.
    private func handleBufferedInput() {
        let chunk = UnsafeRawBufferPointer(start: readBuffer + inputStart, count: inputEnd - inputStart)
        inputStart += splitter.feed(chunk, pauseWhen: { [unowned self] in
            if !outputCongested && output.readableBytes > limits.highWater { congest() }
            return readingPaused
        }) { handle($0) }
    }

    private func handle(_ event: LineSplitter.Event) {
        switch event {
        case .line(let bytes): node.receive(line: bytes)
        case .oversized(let prefix, let length, let fields):
            node.rejectOversized(prefix: prefix, length: length, limit: maxLineBytes, fields: fields)
        }
    }

    private func endOfInput() {
        stdinDone = true
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
        if output.isEmpty && output.capacity > Self.keepOutputCapacity {
            output = ByteBuffer(capacity: 1 << 16) // a burst's buffer is not kept for good
        }
        if outputCongested && output.readableBytes <= limits.lowWater { decongest() }
    }

    private func pauseReading() {
        readingPaused = true
        ev_io_stop(loop, stdinWatcher)
    }

    private func resumeReading() {
        guard readingPaused, !stdinDone else { return }
        readingPaused = false
        ev_io_start(loop, stdinWatcher)
        // Lines already read wait in readBuffer; stdin may have nothing new to wake the watcher,
        // so wake it by hand (from the loop, not from here: we may be inside a handler).
        if inputStart < inputEnd { ev_feed_event(loop, UnsafeMutableRawPointer(stdinWatcher), Int32(EV_READ)) }
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

/// Caps on queued output (see `EventLoop` and docs/hardening.md).
public struct OutputLimits: Sendable {
    /// Above this many queued bytes input is paused and `outputCongested` is true.
    public var highWater: Int
    /// At or below this many, input resumes and `outputCongested` turns false.
    public var lowWater: Int
    /// Past this many, lines to peers and services are dropped; client replies are still queued.
    public var hardCap: Int

    public init(highWater: Int = 1 << 20, lowWater: Int? = nil, hardCap: Int? = nil) {
        self.highWater = max(highWater, 1)
        self.lowWater = min(lowWater ?? self.highWater / 4, self.highWater)
        self.hardCap = max(hardCap ?? self.highWater * 16, self.highWater)
    }
}
