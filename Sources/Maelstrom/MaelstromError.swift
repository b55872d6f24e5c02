import EVCore

/// A Maelstrom error body: thrown by a handler it becomes the error reply; an RPC or KV call that
/// fails delivers one (a timeout is `code == .timeout`).
public struct MaelstromError: Error, Equatable, CustomStringConvertible {
    public let code: ErrorCode
    public let text: String

    public init(code: ErrorCode, text: String = "") {
        self.code = code
        self.text = text
    }

    /// Error 12: the request lacks a field or has one of the wrong type.
    public static func malformed(_ text: String) -> MaelstromError { MaelstromError(code: .malformedRequest, text: text) }
    /// Error 10: this node does not serve the request.
    public static func notSupported(_ text: String) -> MaelstromError { MaelstromError(code: .notSupported, text: text) }

    public var description: String { "error \(code.rawValue) (\(code)): \(text)" }

    /// Any other thrown error is answered as a crash (13): indefinite, as Maelstrom reads it.
    init(_ error: Error) {
        self = error as? MaelstromError ?? MaelstromError(code: .crash, text: "\(error)")
    }
}

extension Duration {
    /// In the microseconds every EVCore clock counts.
    var micros: Micros {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
