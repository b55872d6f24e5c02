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

/// Broadcast and g-set: a grow-only set of integers replicated by its `ReplicatedState`. The two
/// differ only in their message fields, so the client side is here once.
protocol GrowOnlySetWorkload: ReplicatedWorkload where Entry == Int {
    var set: GrowOnlySet { get }
    var node: Node { get }
}

extension GrowOnlySetWorkload {
    /// A client's element: published (stored first, in durable mode) and then answered; an
    /// element already here is answered at once.
    func add(_ element: Int, answering req: RequestRef, with type: String) {
        guard !set.contains(element) else { return node.reply(to: req, type: type) }
        replicated.publish([element]) { [unowned self] in
            self.set.add(element)
            self.node.reply(to: req, type: type)
        }
    }

    /// Every element, in `field` of a `read_ok`, once the state is recovered.
    func readAll(answering req: RequestRef, in field: String) {
        replicated.whenRecovered { [unowned self] in
            let all = self.set.elements
            self.node.reply(to: req) { w in
                w.field("type", "read_ok")
                w.field(field, ints: all)
            }
        }
    }
}
