import EVCore

/// A client of one of Maelstrom's key-value services (lin-kv, seq-kv, lww-kv): `node.linKV`.
/// Each call is one RPC; its callback, or its `async` form, gets the outcome. Failures are
/// `MaelstromError`s: `.keyDoesNotExist` (20) for a missing key, `.preconditionFailed` (22) for a
/// cas whose `from` did not match, `.timeout` (0) when the service did not answer in `timeout`.
public struct KV {
    private let node: MaelstromNode
    private var client: KVClient

    init(node: MaelstromNode, service: String) {
        self.node = node
        client = KVClient(node: node.core, service: service)
    }

    /// The service's name ("lin-kv").
    public var service: String { client.service }

    /// How long a call waits for the service (1 s unless set).
    public var timeout: Duration {
        get { .microseconds(client.timeout) }
        set { client.timeout = newValue.micros }
    }

    /// The key's value, or `.keyDoesNotExist`.
    public func read(_ key: JSONValue, _ done: @escaping (Result<JSONValue, MaelstromError>) -> Void) {
        client.read(key) { [node] r in node.event { done(convert(r).map { $0 ?? .null }) } }
    }

    /// Sets the key's value.
    public func write(_ key: JSONValue, _ value: JSONValue, _ done: @escaping (Result<Void, MaelstromError>) -> Void) {
        client.write(key, value) { [node] r in node.event { done(convert(r).map { _ in }) } }
    }

    /// Sets the key to `to` if it holds `from`; else `.preconditionFailed`. With
    /// `createIfMissing` a missing key is created with `to` (else `.keyDoesNotExist`).
    public func cas(_ key: JSONValue, from: JSONValue, to: JSONValue, createIfMissing: Bool = false,
                    _ done: @escaping (Result<Void, MaelstromError>) -> Void) {
        client.cas(key, from: from, to: to, createIfMissing: createIfMissing) { [node] r in node.event { done(convert(r).map { _ in }) } }
    }

    @NodeActor
    public func read(_ key: JSONValue) async throws -> JSONValue {
        try await withCheckedThrowingContinuation { c in read(key) { c.resume(with: $0) } }
    }

    @NodeActor
    public func write(_ key: JSONValue, _ value: JSONValue) async throws {
        try await withCheckedThrowingContinuation { c in write(key, value) { c.resume(with: $0) } }
    }

    @NodeActor
    public func cas(_ key: JSONValue, from: JSONValue, to: JSONValue, createIfMissing: Bool = false) async throws {
        try await withCheckedThrowingContinuation { c in cas(key, from: from, to: to, createIfMissing: createIfMissing) { c.resume(with: $0) } }
    }

    private func convert(_ r: KVResult) -> Result<JSONValue?, MaelstromError> {
        switch r {
        case .ok(let value): return .success(value)
        case .error(let code, let text): return .failure(MaelstromError(code: code, text: text))
        case .timeout: return .failure(MaelstromError(code: .timeout, text: "no reply from \(service) within \(timeout)"))
        }
    }
}
