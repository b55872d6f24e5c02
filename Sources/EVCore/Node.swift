import CJansson
import Logging

/// The result of an RPC: the reply message (valid only during the callback), an error reply, or
/// no reply before the deadline.
public enum RPCResult {
    case ok(Message)
    /// A code Maelstrom does not define counts as `.crash`: indefinite, as Maelstrom treats it.
    case error(code: ErrorCode, text: String)
    case timeout

    public var message: Message? { if case .ok(let m) = self { return m }; return nil }
}

/// The node context every handler talks to: identity, clock, sending, replying, RPCs and timers.
/// It owns the Maelstrom protocol (init, msg_id, in_reply_to, error bodies) and knows nothing of
/// libev, so the same handlers run in the real process and in the simulator.
public final class Node {
    public private(set) var id = "" {
        didSet { envelopeHead = Node.makeEnvelopeHead(src: id) }
    }
    /// Every node of the cluster, this one included (after init), in the order init gave.
    public private(set) var nodeIDs: [String] = []
    /// All node ids except this one, in `nodeIDs` order.
    public private(set) var peers: [String] = []
    /// This node's position in `nodeIDs` (workloads index per-node state by it).
    public private(set) var index = 0
    public var isInitialized: Bool { !id.isEmpty }

    public let logger: Logger
    private unowned let transport: Transport
    private let handler: MessageHandler

    private var nextMsgID = 0
    private var pendingRPCs: [Int: PendingRPC] = [:]
    private var timers = TimerQueue()
    private let line = ByteBuffer(capacity: 4096)
    /// Decoding src, dest and type is skipped when they repeat the previous line's.
    private var recentSrc = RecentString(), recentDest = RecentString(), recentType = RecentString()
    /// `{"src":"<id>","dest":` — the start of every line this node writes, serialized once.
    private var envelopeHead = Node.makeEnvelopeHead(src: "")

    /// Client replies later than this after the request are dropped: Maelstrom clients give up at
    /// 5 s and a reply to a closed client makes Maelstrom ignore this node's stdout for good.
    public var clientReplyDeadline: Micros = .ms(4500)

    /// Stall detection (docs/faults.md). A process that was stopped (SIGSTOP, Maelstrom's pause
    /// nemesis) cannot see when the requests waiting in its stdin were sent, but it can see that it
    /// was stopped: its watchdog timer, due every `watchdogInterval`, comes due late. A gap of more
    /// than `stallThreshold` since the node last ran means it was stopped since then; requests read
    /// within `stallGrace` of noticing are taken as received when the stop began, so replies to
    /// clients that gave up meanwhile are not written (`clientReplyDeadline`).
    public var watchdogInterval: Micros = .ms(100)
    public var stallThreshold: Micros = .ms(1000)
    public var stallGrace: Micros = .ms(200)
    private var lastAlive: Micros = 0
    private var stalledSince: Micros = 0
    private var staleUntil: Micros = .min

    /// Changes when a decoded line's tree is created and again when it is freed: a `Message` view
    /// taken at epoch `e` is readable while `messageEpoch == e` (how the library checks it).
    public private(set) var messageEpoch = 0

    /// Counters for tests, logs and the benchmark.
    public private(set) var stats = Stats()
    public struct Stats: Sendable {
        public var received = 0, sent = 0, malformed = 0, unknownType = 0, lateReplies = 0, droppedLateClientReplies = 0
        /// Lines not written because the node had no id to write as `src` (see `emit`).
        public var unsendableBeforeInit = 0
        /// Times an accepted `init` replaced an earlier identity.
        public var reinits = 0
        /// Times the node found it had been stopped (see `stallThreshold`).
        public var stalls = 0
    }

    private struct PendingRPC {
        /// Only a reply from the node the request went to completes it.
        let dest: String
        let callback: (RPCResult) -> Void
        let timer: TimerID
    }

    public init(transport: Transport, handler: MessageHandler, logger: Logger = Logger(label: "evnode")) {
        self.transport = transport
        self.handler = handler
        self.logger = logger
    }

    public var now: Micros { transport.now }
    /// Whether the transport's output queue is over its cap (see `Transport.outputCongested`).
    public var outputCongested: Bool { transport.outputCongested }
    public var wallClock: Micros { transport.wallClock }

    // MARK: receiving

    /// Decodes one input line and dispatches it. Never throws: bad input is logged and, where
    /// there is someone to answer, answered with an error body.
    public func receive(line bytes: UnsafeRawBufferPointer) {
        stats.received += 1
        decode(bytes, receivedAt: arrivalTime())
    }

    /// Handles again a line received earlier (a message a handler held until it could tell its
    /// workload): not counted again, and answered against its first receipt time.
    public func redeliver(line: String, receivedAt: Micros) {
        var line = line
        line.withUTF8 { decode(UnsafeRawBufferPointer($0), receivedAt: receivedAt) }
    }

    private func decode(_ bytes: UnsafeRawBufferPointer, receivedAt: Micros) {
        // The tree is parsed and freed here rather than held by a JSONDocument: one object
        // allocation less per message.
        var error = json_error_t()
        guard let tree = json_loadb(bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count, 0, &error) else {
            rejectUnparsable(bytes, reason: "malformed JSON (\(JSONDocument.describe(&error)))")
            return
        }
        messageEpoch &+= 1
        defer {
            json_decref(tree)
            messageEpoch &+= 1
        }
        let root = JSON(tree)
        guard root.isObject else {
            rejectUnparsable(bytes, reason: "line is not a JSON object")
            return
        }
        let envelope = Envelope(tree)
        guard let src = recentSrc.string(envelope.src), let dest = recentDest.string(envelope.dest) else {
            stats.malformed += 1
            logger.error("malformed message: missing or non-string src/dest: \(preview(bytes))")
            return
        }
        let body = envelope.body
        let msgID = envelope.msgID.int
        // jansson keeps integers only when they fit 64 bits, so `int` is exact; a msg_id that is
        // a real (1.5, 1e30), a string or anything else cannot be echoed back as an integer, and
        // no reply can be matched by the sender: log it and answer nothing.
        if envelope.msgID.exists && msgID == nil || envelope.inReplyTo.exists && !envelope.inReplyTo.isInt {
            stats.malformed += 1
            logger.error("malformed message from \(src): msg_id/in_reply_to is not a 64-bit integer; not answered: \(preview(bytes))")
            return
        }
        guard body.isObject, let type = recentType.string(envelope.type) else {
            stats.malformed += 1
            logger.error("malformed message from \(src): body missing or without a string type: \(preview(bytes))")
            if let msgID, body.isObject {
                replyError(to: RequestRef(src: src, msgID: msgID, receivedAt: receivedAt), as: dest, code: .malformedRequest,
                           text: "body has no string field 'type'")
            }
            return
        }
        if dest != id && isInitialized {
            logger.warning("message for \(dest) delivered to \(id); handling it anyway")
        }
        let message = Message(src: src, dest: dest, body: body, type: type, msgID: msgID,
                              inReplyTo: envelope.inReplyTo.int, receivedAt: receivedAt)
        dispatch(message)
    }

    private func dispatch(_ m: Message) {
        // A reply completes an RPC only if it comes from the node the RPC went to: anyone can
        // guess a small msg_id.
        if let replyTo = m.inReplyTo, m.src != id, let pending = pendingRPCs[replyTo], pending.dest == m.src {
            pendingRPCs[replyTo] = nil
            timers.cancel(pending.timer)
            if m.type == "error" {
                pending.callback(.error(code: m.body["code"].int.flatMap(ErrorCode.init(rawValue:)) ?? .crash,
                                        text: m.body["text"].string ?? ""))
            } else {
                pending.callback(.ok(m))
            }
            return
        }
        if m.inReplyTo != nil {
            // A reply to an RPC that already timed out (or to a fire-and-forget send).
            stats.lateReplies += 1
            logger.debug("dropping reply \(m.type) from \(m.src) to unknown or expired msg_id \(m.inReplyTo!)")
            return
        }
        if m.type == "init" {
            handleInit(m)
            return
        }
        guard isInitialized else {
            logger.warning("\(m.type) from \(m.src) before init")
            if let req = m.request { replyError(to: req, as: m.dest, code: .temporarilyUnavailable, text: "node not initialized yet") }
            return
        }
        handler.handle(m, node: self)
    }

    /// The `node_ids` of an init: a non-empty array of non-empty strings, duplicates dropped.
    private static func validNodeIDs(_ json: JSON) -> [String]? {
        guard json.isArray, json.count > 0 else { return nil }
        var ids: [String] = [], seen = Set<String>()
        ids.reserveCapacity(json.count)
        for i in 0..<json.count {
            guard let id = json[i].string, !id.isEmpty else { return nil }
            if seen.insert(id).inserted { ids.append(id) }
        }
        return ids
    }

    private func handleInit(_ m: Message) {
        // An unusable init is refused whole: applying part of it would leave the node writing
        // lines with an empty or foreign src.
        guard let nodeID = m.body["node_id"].string, !nodeID.isEmpty, var ids = Node.validNodeIDs(m.body["node_ids"]) else {
            stats.malformed += 1
            logger.error("init from \(m.src) without a usable node_id/node_ids; not applied")
            if let req = m.request {
                replyError(to: req, as: m.dest, code: .malformedRequest,
                           text: "init needs a non-empty string node_id and a non-empty array of non-empty string node_ids")
            }
            return
        }
        if isInitialized && nodeID != id {
            logger.warning("re-init as \(nodeID) (was \(id))")
        }
        if !ids.contains(nodeID) {
            // Workloads index their state by position in nodeIDs; this node must have one.
            logger.warning("init's node_ids lacks \(nodeID); adding it")
            ids.append(nodeID)
        }
        if isInitialized {
            // A new incarnation: the old workloads' timers and RPC callbacks must not run against
            // the new state (the router drops the old workloads in nodeDidInit). Pending RPCs are
            // dropped without calling back, like the process restart a re-init stands for.
            stats.reinits += 1
            timers.cancelAll()
            pendingRPCs.removeAll()
        }
        id = nodeID
        nodeIDs = ids
        index = ids.firstIndex(of: nodeID)!
        peers = ids.filter { $0 != nodeID }
        lastAlive = now
        every(watchdogInterval) { [weak self] in self?.watchdogTick() }
        logger.info("initialized as \(nodeID) of \(ids.count) nodes")
        handler.nodeDidInit(self)
        if let req = m.request { reply(to: req, type: "init_ok") }
    }

    /// Called for a line that could not be decoded. The sender and msg_id are recovered from the
    /// raw bytes when possible, so the client gets an error instead of waiting for a timeout.
    private func rejectUnparsable(_ bytes: UnsafeRawBufferPointer, reason: String) {
        stats.malformed += 1
        logger.error("\(reason): \(preview(bytes))")
        answerUnparsable(RawFieldScanner.fields(in: bytes), reason: reason)
    }

    /// Replies error 12 to the sender found by the raw scanner, if it is someone that exists and
    /// the msg_id was exact.
    private func answerUnparsable(_ fields: RawFieldScanner.Fields, reason: String) {
        guard let src = fields.src, let msgID = fields.msgID, isKnownSender(src) else { return }
        let req = RequestRef(src: src, msgID: msgID, receivedAt: now)
        if isInitialized {
            replyError(to: req, code: .malformedRequest, text: reason)
        } else if let dest = fields.dest {
            replyError(to: req, as: dest, code: .malformedRequest, text: reason)
        }
    }

    /// Answers a line that was too long to decode, with the fields the splitter found anywhere in it.
    public func rejectOversized(prefix: UnsafeRawBufferPointer, length: Int, limit: Int, fields: RawFieldScanner.Fields) {
        stats.malformed += 1
        let reason = "line of \(length) bytes exceeds the \(limit)-byte limit"
        logger.error("\(reason): \(preview(prefix))")
        answerUnparsable(fields, reason: reason)
    }

    /// Only answer ids that exist: a reply to an invented id makes Maelstrom stop reading us.
    private func isKnownSender(_ src: String) -> Bool {
        isClientID(src) || nodeIDs.contains(src)
    }

    private func preview(_ bytes: UnsafeRawBufferPointer) -> String {
        let head = String(decoding: bytes.prefix(200), as: UTF8.self)
        return bytes.count > 200 ? head + "… (\(bytes.count) bytes)" : head
    }

    // MARK: sending

    /// Sends a message; `body` writes the body's members (it must write "type").
    public func send(to dest: String, _ body: (inout JSONWriter) -> Void) {
        emit(dest: dest) { w in body(&w) }
    }

    /// Replies to a request: in_reply_to is added, `body` writes "type" and the fields.
    public func reply(to req: RequestRef, _ body: (inout JSONWriter) -> Void) {
        if now - req.receivedAt > clientReplyDeadline && req.isFromClient { // the cheap test first: this is every reply's path
            stats.droppedLateClientReplies += 1
            logger.warning("not replying to \(req.src) msg \(req.msgID): the client gave up \(Double(now - req.receivedAt) / 1e6) s ago")
            return
        }
        emit(dest: req.src) { w in
            w.field(rawKey: StaticBytes.inReplyToKey, req.msgID)
            body(&w)
        }
    }

    /// An error reply written as `src` when the node has no id yet: Maelstrom addressed the
    /// request to `dest`, so that name is registered and is the only honest src. Once initialized,
    /// the node's own id is used whatever `src` says.
    private func replyError(to req: RequestRef, as src: String, code: ErrorCode, text: String) {
        if isInitialized { return replyError(to: req, code: code, text: text) }
        guard !src.isEmpty else {
            stats.unsendableBeforeInit += 1
            logger.error("cannot answer \(req.src) msg \(req.msgID) before init: the request names no dest")
            return
        }
        emit(dest: req.src, head: Node.makeEnvelopeHead(src: src)) { w in
            w.field(rawKey: StaticBytes.inReplyToKey, req.msgID)
            w.field("type", "error")
            w.field("code", code.rawValue)
            w.field("text", text)
        }
    }

    /// Replies with only a type, e.g. "broadcast_ok".
    public func reply(to req: RequestRef, type: String) {
        reply(to: req) { $0.field("type", type) }
    }

    public func replyError(to req: RequestRef, code: ErrorCode, text: String) {
        reply(to: req) { w in
            w.field("type", "error")
            w.field("code", code.rawValue)
            w.field("text", text)
        }
    }

    /// Sends a request and calls `callback` exactly once: with the reply, the error reply, or
    /// `.timeout` after `timeout`. A reply that arrives after the timeout is dropped.
    public func rpc(to dest: String, timeout: Micros, _ body: (inout JSONWriter) -> Void,
                    callback: @escaping (RPCResult) -> Void) {
        nextMsgID += 1
        let msgID = nextMsgID
        let timer = after(timeout) { [weak self] in
            guard let self, let pending = self.pendingRPCs.removeValue(forKey: msgID) else { return }
            pending.callback(.timeout)
        }
        pendingRPCs[msgID] = PendingRPC(dest: dest, callback: callback, timer: timer)
        emit(dest: dest) { w in
            w.field("msg_id", msgID)
            body(&w)
        }
    }

    public var pendingRPCCount: Int { pendingRPCs.count }

    /// Writes `{"src":…,"dest":…,"body":{…}}` and a newline, and hands the line to the transport.
    /// The fixed parts are copied as bytes; only `dest` and the body are serialized per message.
    /// Before init there is no id to write as src, and a line with `"src":""` makes Maelstrom
    /// stop reading this node: such a line is not written (only the pre-init error replies,
    /// which pass `head`, are).
    private func emit(dest: String, head: ByteBuffer? = nil, _ body: (inout JSONWriter) -> Void) {
        if head == nil && id.isEmpty {
            stats.unsendableBeforeInit += 1
            logger.error("not sending to \(dest) before init: the node has no id to use as src")
            return
        }
        line.clear()
        line.append((head ?? envelopeHead).readable)
        var w = JSONWriter(line)
        w.writeString(dest)
        line.append(StaticBytes.bodyKey)
        w.object(body)
        line.append(StaticBytes.closeEnvelope)
        stats.sent += 1
        transport.transmit(dest: dest, line: line.readable)
    }

    private static func makeEnvelopeHead(src: String) -> ByteBuffer {
        let out = ByteBuffer(capacity: 64)
        out.append(StaticBytes.srcKey)
        JSONWriter(out).writeString(src)
        out.append(StaticBytes.destKey)
        return out
    }

    // MARK: timers

    /// Runs `action` once after `delay`.
    @discardableResult
    public func after(_ delay: Micros, _ action: @escaping () -> Void) -> TimerID {
        defer { transport.timersChanged() }
        return timers.schedule(at: now + max(delay, 0), every: nil, action)
    }

    /// Runs `action` every `interval`, first after one interval.
    @discardableResult
    public func every(_ interval: Micros, _ action: @escaping () -> Void) -> TimerID {
        precondition(interval > 0, "a periodic timer needs a positive interval")
        defer { transport.timersChanged() }
        return timers.schedule(at: now + interval, every: interval, action)
    }

    public func cancel(_ timer: TimerID) { timers.cancel(timer) }

    // MARK: stall detection

    /// The node runs now (a watchdog tick or a line read): notes a stop since it last ran.
    @discardableResult
    private func markAlive() -> Micros {
        let t = now
        if t - lastAlive > stallThreshold { noteStall(at: t) }
        lastAlive = t
        return t
    }

    private func watchdogTick() { markAlive() }

    /// When a line read now counts as received: now, or the start of a stop it waited through.
    private func arrivalTime() -> Micros {
        guard isInitialized else { return now }
        let t = markAlive()
        return t <= staleUntil ? stalledSince : t
    }

    private func noteStall(at t: Micros) {
        stats.stalls += 1
        stalledSince = lastAlive
        staleUntil = t + stallGrace
        logger.warning("stopped for \(Double(t - lastAlive) / 1e6) s (paused?); requests read in the next \(Double(stallGrace) / 1e3) ms count as that old")
    }

    /// Earliest timer deadline, or nil when no timer is armed.
    public var nextDeadline: Micros? { timers.nextDeadline }

    /// Runs every timer whose deadline has passed. Transports call this.
    public func fireTimers() {
        let t = now
        while let action = timers.popDue(now: t) { action() }
    }
}
