import EVCore

/// The set of broadcast values a node holds, each once, in the order it learned them (what
/// `read` returns).
public final class BroadcastValues {
    public private(set) var values: [Int] = []
    private var known: Set<Int> = []

    public init() {}

    public var count: Int { values.count }

    public func contains(_ value: Int) -> Bool { known.contains(value) }

    /// Adds `value`; false if it was already here.
    @discardableResult
    public func add(_ value: Int) -> Bool {
        guard known.insert(value).inserted else { return false }
        values.append(value)
        return true
    }
}

extension Int: ReplicatedEntry {
    public func write(into array: inout JSONWriter) { array.element(self) }
    public init?(json: JSON) {
        guard let v = json.int else { return nil }
        self = v
    }
}
