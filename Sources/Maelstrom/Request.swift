import EVCore
import Logging

/// A message a handler received: who sent it, its body, and how to answer it.
///
/// The body is a borrowed view into the received line: readable during the handler (an async
/// handler: until its first `await`); reading it later stops the process with a message. Copy out
/// what you keep (`body["k"].int`, `.string`, `.value`). `reply` works at any time.
public struct Request: @unchecked Sendable { // confined to the loop thread, like the node
    /// The sender: a client ("c3"), a node ("n1") or a service ("lin-kv").
    public let src: String
    /// The body's `type`.
    public let type: String
    /// The body's `msg_id`; nil for a message that expects no reply.
    public let msgID: Int?
    @usableFromInline let view: JSON
    @usableFromInline let epoch: Int
    @usableFromInline let receivedAt: Micros
    /// Unowned and unchecked (no reference counting on every message): only the node's own events
    /// run its handlers and callbacks, so a request is only ever used while its node lives.
    @usableFromInline unowned(unsafe) let node: Node

    /// evnode's own workloads answer through requests too (their router hands them messages).
    @inlinable package init(_ m: Message, node: Node) {
        src = m.src
        type = m.type
        msgID = m.msgID
        view = m.body
        epoch = node.messageEpoch
        receivedAt = m.receivedAt
        self.node = node
    }

    /// The whole body (with `type` and `msg_id`).
    @inlinable public var body: JSON {
        precondition(node.messageEpoch == epoch,
                     "the body of \(type) from \(src) was read after its handler returned: copy the fields you keep")
        return view
    }

    /// A field of the body (a view that does not exist when the field is absent).
    @inlinable public subscript(key: String) -> JSON { body[key] }

    /// A field that must be present, or error 12 naming it.
    @inlinable public func require(_ key: String) throws -> JSON {
        let v = body[key]
        guard v.exists else { throw MaelstromError.malformed("\(type) needs a field '\(key)'") }
        return v
    }

    /// An integer field, or error 12.
    @inlinable public func int(_ key: String) throws -> Int {
        guard let v = body[key].int else { throw MaelstromError.malformed("\(type) needs an integer field '\(key)'") }
        return v
    }

    /// A string field, or error 12.
    @inlinable public func string(_ key: String) throws -> String {
        guard let v = body[key].string else { throw MaelstromError.malformed("\(type) needs a string field '\(key)'") }
        return v
    }

    /// Replies with `type` and the fields `fields` writes (`in_reply_to` is added). The fast
    /// form: nothing is built, the bytes go straight into the output line.
    @inlinable public func reply(_ type: String, _ fields: (inout JSONWriter) -> Void = { _ in }) {
        guard let ref = ref else { return }
        node.reply(to: ref) { w in
            w.field("type", type)
            fields(&w)
        }
    }

    /// Replies with a whole body, which must hold `type`: `req.reply(["type": "read_ok", "value": 5])`.
    public func reply(_ body: JSONValue) {
        let members = MaelstromNode.members(body)
        guard let ref = ref else { return }
        node.reply(to: ref) { w in
            for (key, value) in members { w.field(key, value) }
        }
    }

    /// Replies with an error body (what a thrown error does).
    public func reply(error: MaelstromError) {
        guard let ref = ref else { return }
        node.replyError(to: ref, code: error.code, text: error.text)
    }

    /// What to answer, or nil (logged) when the request carried no msg_id: nobody waits for it.
    @inlinable var ref: RequestRef? {
        guard let msgID else {
            node.logger.warning("not replying to \(type) from \(src): it has no msg_id")
            return nil
        }
        return RequestRef(src: src, msgID: msgID, receivedAt: receivedAt)
    }
}
