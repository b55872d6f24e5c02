import EVCore

/// A grow-only set of integers (broadcast's values, g-set's elements): each element once, in the
/// order this node learned it (what a read returns). Merging is set union, so an element learned
/// twice, late or out of order changes nothing.
public final class GrowOnlySet {
    public private(set) var elements: [Int] = []
    private var known: Set<Int> = []

    public init() {}

    public var count: Int { elements.count }

    public func contains(_ element: Int) -> Bool { known.contains(element) }

    /// Adds `element`; false if it was already here.
    @discardableResult
    public func add(_ element: Int) -> Bool {
        guard known.insert(element).inserted else { return false }
        elements.append(element)
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
