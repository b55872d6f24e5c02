import EVCore

/// Records every change of each node's counter value with its time, so the simulator can measure
/// how long the nodes take to agree. Not used in production (the config leaves it nil).
public final class GCounterProbe: @unchecked Sendable {
    /// node → (time, value) in time order.
    public private(set) var changes: [String: [(at: Micros, value: Int)]] = [:]

    public init() {}

    func valueChanged(on node: String, at time: Micros, to value: Int) {
        changes[node, default: []].append((time, value))
    }

    /// The first time from which `node`'s value stayed `value` to the end of the record; nil if
    /// it did not end there.
    public func settled(_ node: String, at value: Int) -> Micros? {
        guard let list = changes[node], let last = list.last, last.value == value else { return nil }
        var since = last.at
        for change in list.reversed() {
            guard change.value == value else { break }
            since = change.at
        }
        return since
    }
}
