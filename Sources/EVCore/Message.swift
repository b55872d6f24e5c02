/// One decoded envelope. A borrowed view: valid only during the handler call that receives it
/// (its `body` points into a jansson tree freed afterwards). Keep a `RequestRef` to reply later.
public struct Message {
    public let src: String
    public let dest: String
    public let body: JSON
    public let type: String
    public let msgID: Int?
    public let inReplyTo: Int?
    /// Node clock (µs) when the line was read.
    public let receivedAt: Int64

    /// What is needed to answer this message later, or nil if it carries no msg_id.
    public var request: RequestRef? {
        msgID.map { RequestRef(src: src, msgID: $0, receivedAt: receivedAt) }
    }

    public var isFromClient: Bool { isClientID(src) }
}

/// A request that can be answered later.
public struct RequestRef: Hashable, Sendable {
    public let src: String
    public let msgID: Int
    public let receivedAt: Int64

    public init(src: String, msgID: Int, receivedAt: Int64) {
        self.src = src
        self.msgID = msgID
        self.receivedAt = receivedAt
    }

    public var isFromClient: Bool { isClientID(src) }
}

/// True if `id` names a Maelstrom client: "c" followed by one or more decimal digits (c0 for
/// init, c1, c2, ... for workload clients). Node ids ("n1") and services ("seq-kv") are not clients.
/// The one definition of a client id: replies to clients have a deadline, and a malformed line is
/// only answered when its sender is a real client or node.
public func isClientID(_ id: String) -> Bool {
    // On every reply's path: a plain byte walk (no enumerated iterator).
    var bytes = id.utf8.makeIterator()
    guard bytes.next() == UInt8(ascii: "c") else { return false }
    var digits = 0
    while let byte = bytes.next() {
        guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return false }
        digits += 1
    }
    return digits > 0
}

/// Time in microseconds, the unit of every clock and timer in evnode.
public typealias Micros = Int64

public extension Micros {
    static func ms(_ v: Int64) -> Micros { v * 1000 }
    static func seconds(_ v: Double) -> Micros { Micros(v * 1_000_000) }
}
