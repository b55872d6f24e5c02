import EVCore

/// A `Transport` for driving a `Node` by hand in unit tests: the clock moves only when the test
/// sets it, and every line the node writes is kept, parsed, in `messages`.
///
///     let transport = ManualTransport()
///     let node = Node(transport: transport, handler: handler)
///     transport.advance(to: .ms(100), node)   // fires the timers due by then
///     XCTAssertEqual(transport.messages.last?["body"]?["type"], "init_ok")
///
/// It does not depend on XCTest; lines that break the protocol's framing (not exactly one
/// newline, at the end) or are not JSON are collected in `framingErrors` for the test to check.
public final class ManualTransport: Transport {
    /// The node's monotonic clock (µs). Set it directly, or use `advance(to:_:)` to fire timers too.
    public var now: Micros = 0
    /// Wall clock = `wallClockOrigin + now`, so ids made from it are stable from run to run.
    public var wallClockOrigin: Micros = 1_000_000
    public var wallClock: Micros { wallClockOrigin + now }
    /// What `outputCongested` reports to the node; set it to test back-pressure paths.
    public var outputCongested = false

    /// Every line written so far, parsed, in order (whole envelopes: src, dest, body).
    public private(set) var messages: [JSONValue] = []
    /// The destination of each entry of `messages`, as the node passed it.
    public private(set) var destinations: [String] = []
    /// Lines that were not one newline-terminated JSON value (should stay empty).
    public private(set) var framingErrors: [String] = []
    /// How many times the node reported that its earliest timer deadline may have changed.
    public private(set) var timersChangedCount = 0

    public init() {}

    /// The bodies of `messages`.
    public var bodies: [JSONValue] { messages.compactMap { $0["body"] } }

    public func transmit(dest: String, line: UnsafeRawBufferPointer) {
        let text = String(decoding: line, as: UTF8.self)
        guard line.last == 0x0A, line.dropLast().firstIndex(of: 0x0A) == nil,
              let value = JSONValue(parsing: String(text.dropLast())) else {
            framingErrors.append(text)
            return
        }
        messages.append(value)
        destinations.append(dest)
    }

    public func timersChanged() { timersChangedCount += 1 }

    /// Moves the clock to `time` and runs the node's timers that are due by then.
    public func advance(to time: Micros, _ node: Node) {
        now = time
        node.fireTimers()
    }

    /// Forgets the lines written so far (the clock is kept).
    public func clearOutput() {
        messages.removeAll()
        destinations.removeAll()
        linKVServedUpTo = 0
    }

    // MARK: lin-kv

    /// Maelstrom's lin-kv as `serveLinKV` answers it (a node's start record lives there).
    public var linKV = KVState()
    private var linKVServedUpTo = 0

    /// Answers, from `linKV`, every request the node sent lin-kv and not yet answered, then those
    /// the answers lead to (a start record's read, then its write), firing timers due now between.
    public func serveLinKV(_ node: Node) {
        advance(to: now, node)
        while linKVServedUpTo < messages.count {
            let m = messages[linKVServedUpTo]
            linKVServedUpTo += 1
            guard m["dest"] == "lin-kv", let reply = linKV.reply(to: m, as: "lin-kv") else { continue }
            node.receive(reply.text)
            advance(to: now, node)
        }
    }
}

public extension Node {
    /// Feeds one protocol line (without its newline) to the node, as a transport would.
    func receive(_ text: String) {
        var t = text
        t.withUTF8 { receive(line: UnsafeRawBufferPointer($0)) }
    }
}
