import EVCore

/// Checks a txn-list-append history the way Elle's list-append analysis does (Kingsbury & Alvaro,
/// "Elle: Inferring Isolation Anomalies from Experimental Observations").
///
/// Each committed read of a list is a prefix of the key's version order, and every appended value
/// is unique per key, so the longest read of a key gives its version order and every read element
/// names its writer. From that it finds:
/// - per transaction: `internal` (a read disagreeing with the txn's own earlier read or appends),
///   `duplicate-elements` (a value twice in one read);
/// - per key: `incompatible-order` (a read that is not a prefix of the longest), `garbage-read`
///   (a value nobody appended), `G1a` (a value appended by a failed txn), `G1b` (a read ending in
///   a value its writer followed with another append to that key), `dirty-update` (committed
///   appends after an aborted one in the version order);
/// - cycles in the dependency graph (ww: append order, wr: a read saw the append, rw: a read did
///   not see a later append; realtime: T1 completed before T2 was invoked, strict serializability
///   only): G0, G1c, G-single, G-nonadjacent, G2-item and their "-realtime" variants.
/// Failed txns only matter for G1a and dirty updates. Txns of unknown outcome (:info, or never
/// completed) count as committed once one of their appends is read; their reads are unknown.
/// Appends no read ever saw must come after everything read of their key (a read that missed one
/// would otherwise not be a prefix): they get ww edges from the key's last read writer and rw
/// edges from the readers of the longest read.
public enum ListAppendChecker {
    public enum Model: String, CaseIterable, Sendable {
        case strictSerializable = "strict-serializable", serializable
        case snapshotIsolation = "snapshot-isolation", readCommitted = "read-committed"

        /// Anomaly types that make a history invalid under this model (Elle's hierarchy).
        public var prohibited: Set<String> {
            let structural: Set<String> = ["internal", "duplicate-elements", "incompatible-order", "garbage-read"]
            let cycles = ["G0", "G1c", "G-single", "G-nonadjacent", "G2-item"]
            switch self {
            case .readCommitted: return structural.union(["G0", "G1a", "G1b", "G1c", "dirty-update"])
            case .snapshotIsolation: return Model.readCommitted.prohibited.union(["G-single", "G-nonadjacent"])
            case .serializable: return Model.snapshotIsolation.prohibited.union(["G2-item"])
            case .strictSerializable: return Model.serializable.prohibited.union(cycles.map { $0 + "-realtime" })
            }
        }

        var usesRealtime: Bool { self == .strictSerializable }
    }

    /// Findings that leave the verdict open rather than condemning the database.
    static let undecided: Set<String> = ["cycle-search-timeout", "duplicate-appends", "unparseable-txn"]
    static let maxExamples = 3

    /// `searchBudget` bounds the states the cycle searches may visit; past it the result is
    /// :unknown with a `cycle-search-timeout` finding (unless something prohibited was found).
    public static func check(_ history: [Operation], model: Model = .strictSerializable,
                             searchBudget: Int = 2_000_000) -> CheckResult {
        var analysis = ListAppendAnalysis(history: history, realtime: model.usesRealtime)
        analysis.run(searchBudget: searchBudget)
        let found = analysis.findings.keys.sorted()
        let prohibited = found.filter { model.prohibited.contains($0) }
        let validity: Validity = !prohibited.isEmpty ? .invalid
            : found.contains(where: undecided.contains) ? .unknown : .valid
        let txns = analysis.txns
        let members: [(String, JSONValue)] = [
            ("valid?", validity.json),
            ("consistency-model", .string(model.rawValue)),
            ("anomaly-types", .array(found.map { .string($0) })),
            ("prohibited-anomaly-types", .array(prohibited.map { .string($0) })),
            ("anomalies", .object(found.map { type in
                let f = analysis.findings[type]!
                return (type, .object([("count", .int(f.count)), ("examples", .array(f.examples))]))
            })),
            ("txn-count", .int(txns.count)),
            ("ok-count", .int(txns.filter { $0.status == .ok }.count)),
            ("info-count", .int(txns.filter { $0.status == .info }.count)),
            ("fail-count", .int(txns.filter { $0.status == .fail }.count)),
            ("dependency-edges", .object(ListAppendGraph.Edge.allCases.map { ($0.rawValue, .int(analysis.graph.edgeCounts[$0] ?? 0)) })),
        ]
        return CheckResult(validity: validity, details: .object(members))
    }
}

/// One transaction of the history, decoded.
struct ListAppendTxn {
    enum Status: String { case ok, info, fail }
    enum MicroOp {
        /// `list` is nil when the read's result is unknown (the txn did not complete ok).
        case read(key: Int, list: [Int]?)
        case append(key: Int, value: Int)
    }

    let historyIndex: Int
    let status: Status
    let process: Int
    let ops: [MicroOp]
    let display: JSONValue
    /// Positions in real time; `completed` is nil unless the txn completed ok.
    let invoked: Int64
    let completed: Int64?

    var name: String { "T\(historyIndex)" }

    var json: JSONValue {
        .object([("id", .string(name)), ("process", .int(process)), ("status", .string(status.rawValue)), ("txn", display)])
    }

    /// [["r", k, list-or-null], ["append", k, v], …] with integer keys and values; nil if malformed.
    static func decode(_ value: JSONValue, readsKnown: Bool) -> [MicroOp]? {
        guard let items = value.array else { return nil }
        var ops: [MicroOp] = []
        for item in items {
            guard let parts = item.array, parts.count == 3, let key = parts[1].int else { return nil }
            switch parts[0].string {
            case "r"?:
                guard readsKnown else { ops.append(.read(key: key, list: nil)); continue }
                if parts[2].isNull { ops.append(.read(key: key, list: [])); continue } // never appended
                guard let items = parts[2].array else { return nil }
                let list = items.compactMap(\.int)
                guard list.count == items.count else { return nil }
                ops.append(.read(key: key, list: list))
            case "append"?:
                guard let v = parts[2].int else { return nil }
                ops.append(.append(key: key, value: v))
            default: return nil
            }
        }
        return ops
    }
}
