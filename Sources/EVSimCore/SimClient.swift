import EVCore

/// A Maelstrom client: sends requests to one node and matches replies by in_reply_to.
/// A request not answered within `timeout` completes with nil (Maelstrom's 5 s client timeout).
public final class SimClient: Endpoint {
    public let id: String
    private unowned let network: SimNetwork
    private var nextMsgID = 0
    private var pending: [Int: (JSONValue?) -> Void] = [:]
    public private(set) var isClosed = false

    public init(id: String, network: SimNetwork) {
        self.id = id
        self.network = network
        network.register(self)
    }

    /// Sends `body` (msg_id is added) and calls `completion` with the reply body, or nil on timeout.
    public func call(_ node: String, _ body: JSONValue, timeout: Micros = .ms(5000),
                     _ completion: @escaping (JSONValue?) -> Void) {
        precondition(!isClosed, "client \(id) is closed")
        nextMsgID += 1
        let msgID = nextMsgID
        pending[msgID] = completion
        var members = body.members ?? []
        members.removeAll { $0.0 == "msg_id" }
        members.append(("msg_id", .int(msgID)))
        let envelope: JSONValue = ["src": .string(id), "dest": .string(node), "body": .object(members)]
        network.send(from: id, to: node, text: envelope.text)
        network.events.schedule(after: timeout) { [weak self] in
            guard let self, let done = self.pending.removeValue(forKey: msgID) else { return }
            done(nil)
        }
    }

    public func deliver(_ message: SimMessage) {
        guard let body = message.body, let replyTo = body["in_reply_to"]?.int,
              let done = pending.removeValue(forKey: replyTo) else { return }
        done(body)
    }

    /// Removes the client from the network, as Maelstrom does after a timeout for non-reusable
    /// clients: any later message to this id is undeliverable (a fatal error for the sender).
    public func close() {
        isClosed = true
        pending.removeAll()
        network.unregister(id)
    }
}
