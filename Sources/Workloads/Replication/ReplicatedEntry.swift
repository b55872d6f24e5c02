import EVCore

/// What a replicated log's entries are: how one is written as a JSON array element and read back.
/// Decoding is where a peer's values are validated: nil rejects the whole message as malformed.
public protocol ReplicatedEntry {
    func write(into array: inout JSONWriter)
    init?(json: JSON)
    /// Whether this entry makes `older` useless to a peer that has not been sent it yet (a newer
    /// state of the same thing): it then takes `older`'s place instead of queueing behind it.
    func supersedes(_ older: Self) -> Bool
}

public extension ReplicatedEntry {
    func supersedes(_ older: Self) -> Bool { false }
}

/// Broadcast's and g-set's elements travel as plain integers.
extension Int: ReplicatedEntry {
    public func write(into array: inout JSONWriter) { array.element(self) }
    public init?(json: JSON) {
        guard let v = json.int else { return nil }
        self = v
    }
}
