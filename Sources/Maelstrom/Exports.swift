import EVCore

// The EVCore types a handler touches, under the library's name: a user imports `Maelstrom` only.

/// A borrowed, read-only view of a JSON value inside a received message (`Request.body`).
public typealias JSON = EVCore.JSON
/// An owned JSON value: bodies to send, RPC replies, KV keys and values. Literals build it.
public typealias JSONValue = EVCore.JSONValue
/// Writes a body's fields straight into the output line (`Request.reply(_:_:)`, `send(to:_:_:)`).
public typealias JSONWriter = EVCore.JSONWriter
/// Maelstrom's error codes (protocol reference §4.3).
public typealias ErrorCode = EVCore.ErrorCode
