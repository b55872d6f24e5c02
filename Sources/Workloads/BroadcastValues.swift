import EVCore

/// The set of broadcast values a node holds, in the order it learned them, with where each came
/// from. It is the log that the node's `PeerLinks` replicate: a value is never sent back to the
/// node it came from.
public final class BroadcastValues: ReplicatedLog {
    public typealias Entry = Int
    /// Every value, once, in arrival order (what `read` returns).
    public private(set) var values: [Int] = []
    /// For each value, the index in `node_ids` of the node it came from (this node for values
    /// broadcast by its own clients).
    private var origins: [Int32] = []
    private var known: Set<Int> = []

    public init() {}

    public var count: Int { values.count }

    public func contains(_ value: Int) -> Bool { known.contains(value) }

    /// Adds `value` learned from node `origin`; false if it was already here.
    @discardableResult
    public func add(_ value: Int, origin: Int) -> Bool {
        guard known.insert(value).inserted else { return false }
        values.append(value)
        origins.append(Int32(truncatingIfNeeded: origin))
        return true
    }

    public func shouldSend(_ index: Int, to peer: Int) -> Bool { origins[index] != Int32(truncatingIfNeeded: peer) }

    public func write(_ index: Int, into array: inout JSONWriter) { array.element(values[index]) }

    public func decode(_ element: JSON) -> Int? { element.int }

    public func apply(_ entries: ArraySlice<Int>, from peer: Int) {
        for v in entries { add(v, origin: peer) }
    }
}
