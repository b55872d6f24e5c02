import EVCore
import Logging

/// A Maelstrom node: a table of handlers by message type, and the node's identity, messaging,
/// RPCs, timers and KV clients. Build one with its handlers and run it (`MaelstromNode.run`), or
/// hand it to the simulator (`MaelstromTesting.Simulation`): the same code runs in both.
///
/// Everything runs on one thread, the loop's: handlers, callbacks, timers and async code
/// (`NodeActor`). `init` is answered by the node itself; a type without a handler gets error 10;
/// an error a handler throws becomes its error reply.
public final class MaelstromNode: MessageHandler, @unchecked Sendable { // confined to the loop thread
    private var handlers: [String: (Request) throws -> Void] = [:]
    private var initActions: [() -> Void] = []
    /// The EVCore node this one is the handler of, from its first event on.
    private(set) var core: Node!

    /// Builds the node: `setup` registers its handlers and init actions.
    public init(_ setup: (MaelstromNode) -> Void) { setup(self) }

    // MARK: handlers

    /// Handles every message of `type`. A thrown error is answered as an error reply
    /// (`MaelstromError` as it is, anything else as error 13).
    public func on(_ type: String, _ handler: @escaping (Request) throws -> Void) {
        precondition(handlers[type] == nil, "two handlers for \(type)")
        handlers[type] = handler
    }

    /// Handles every message of `type` in a task on the loop thread (`NodeActor`), so the handler
    /// can `await` RPCs, KV calls and `sleep`. The body is readable until the first `await`.
    public func on(_ type: String, _ handler: @escaping @NodeActor (Request) async throws -> Void) {
        on(type) { req in
            Task(executorPreference: LoopExecutor.shared) { @NodeActor in
                do { try await handler(req) } catch { req.reply(error: MaelstromError(error)) }
            }
        }
    }

    /// Runs `action` once the node knows its id and peers (at every `init`): where periodic work
    /// starts.
    public func onInit(_ action: @escaping () -> Void) { initActions.append(action) }

    // MARK: identity and clock

    /// This node's id ("n0"), once initialized.
    public var id: String { core.id }
    /// Every node of the cluster, this one included.
    public var nodeIDs: [String] { core.nodeIDs }
    /// Every node but this one.
    public var peers: [String] { core.peers }
    /// The node's log (stderr on the loop, collected by the simulator).
    public var logger: Logger { core.logger }
    /// Microseconds on the node's monotonic clock (virtual in the simulator).
    public var now: Int64 { core.now }

    // MARK: sending

    /// Sends a message that expects no reply; `body` must hold `type`.
    public func send(to dest: String, _ body: JSONValue) {
        let members = Self.members(body)
        core.send(to: dest) { w in for (k, v) in members { w.field(k, v) } }
    }

    /// Sends a message of `type` whose fields `fields` writes (the fast form).
    public func send(to dest: String, _ type: String, _ fields: (inout JSONWriter) -> Void) {
        core.send(to: dest) { w in
            w.field("type", type)
            fields(&w)
        }
    }

    /// Sends a request and calls `callback` once: with the reply's body, or the error reply, or
    /// `MaelstromError(code: .timeout)` when no reply came within `timeout`.
    public func rpc(to dest: String, _ body: JSONValue, timeout: Duration = .seconds(1),
                    _ callback: @escaping (Result<JSONValue, MaelstromError>) -> Void) {
        let members = Self.members(body)
        core.rpc(to: dest, timeout: timeout.micros, { w in for (k, v) in members { w.field(k, v) } },
                 callback: { [unowned self] r in event { callback(Self.result(r, from: dest, timeout: timeout)) } })
    }

    /// The `async` form of `rpc(to:_:timeout:_:)`: the reply's body, or throws the error.
    @NodeActor
    public func rpc(to dest: String, _ body: JSONValue, timeout: Duration = .seconds(1)) async throws -> JSONValue {
        try await withCheckedThrowingContinuation { c in rpc(to: dest, body, timeout: timeout) { c.resume(with: $0) } }
    }

    // MARK: timers

    /// Runs `action` once after `delay`.
    @discardableResult
    public func after(_ delay: Duration, _ action: @escaping () -> Void) -> Timer {
        Timer(id: core.after(delay.micros) { [unowned self] in event(action) })
    }

    /// Runs `action` every `interval`, first after one interval, until cancelled.
    @discardableResult
    public func every(_ interval: Duration, _ action: @escaping () -> Void) -> Timer {
        Timer(id: core.every(interval.micros) { [unowned self] in event(action) })
    }

    public func cancel(_ timer: Timer) { core.cancel(timer.id) }

    /// Suspends the calling task for `delay` (the loop keeps running).
    @NodeActor
    public func sleep(_ delay: Duration) async {
        await withCheckedContinuation { c in after(delay) { c.resume() } }
    }

    /// A timer to cancel.
    public struct Timer: Hashable, Sendable {
        let id: TimerID
    }

    // MARK: key-value services

    /// Maelstrom's linearizable key-value service.
    public var linKV: KV { KV(node: self, service: KVClient.linKV) }
    /// Maelstrom's sequentially consistent key-value service.
    public var seqKV: KV { KV(node: self, service: KVClient.seqKV) }
    /// Maelstrom's last-write-wins key-value service.
    public var lwwKV: KV { KV(node: self, service: KVClient.lwwKV) }

    // MARK: MessageHandler (called by EVCore's Node)

    public func nodeDidInit(_ node: Node) {
        core = node
        event { for action in initActions { action() } }
    }

    public func handle(_ message: Message, node: Node) {
        core = node
        event {
            let req = Request(message, node: node)
            guard let handler = handlers[message.type] else {
                return req.reply(error: .notSupported("\(message.type) is not a message type this node serves"))
            }
            do { try handler(req) } catch { req.reply(error: MaelstromError(error)) }
        }
    }

    // MARK: internals

    /// Runs one event's code, then the async jobs it resumed: every entry into the node's code
    /// passes here, so tasks run on the loop thread before the next event.
    func event(_ body: () -> Void) {
        body()
        LoopExecutor.shared.drain()
    }

    static func members(_ body: JSONValue) -> [(String, JSONValue)] {
        guard let members = body.members, body["type"]?.string != nil else {
            preconditionFailure("a message body is a JSON object with a string type: \(body)")
        }
        return members
    }

    static func result(_ r: RPCResult, from dest: String, timeout: Duration) -> Result<JSONValue, MaelstromError> {
        switch r {
        case .ok(let m): return .success(m.body.value ?? .null)
        case .error(let code, let text): return .failure(MaelstromError(code: code, text: text))
        case .timeout: return .failure(MaelstromError(code: .timeout, text: "no reply from \(dest) within \(timeout)"))
        }
    }
}
