import EVCore

/// One micro-op of a Maelstrom transaction, `[f, key, value]`: a read (`["r", key, null]`) or the
/// workload's write (`w` in txn-rw-register, `append` in txn-list-append).
enum MicroOp {
    case read(key: JSONValue)
    case write(key: JSONValue, value: JSONValue)
}

/// The transaction grammar both txn workloads share; `write` names the workload's write function.
struct TransactionGrammar {
    let write: String
    /// Whether an empty transaction is a valid one (txn-rw-register: yes; list-append: no).
    let allowsEmpty: Bool

    static let rwRegister = TransactionGrammar(write: "w", allowsEmpty: true)
    static let listAppend = TransactionGrammar(write: "append", allowsEmpty: false)

    /// What the router reads from a `txn` body: yes once a micro-op is this grammar's write, no
    /// once one is another function (or the body holds no transaction of ours), maybe for reads
    /// only, which either workload could serve.
    func match(_ body: JSON) -> BodyMatch {
        let txn = body["txn"]
        guard txn.isArray, allowsEmpty || txn.count > 0 else { return .no }
        var verdict = BodyMatch.maybe
        for i in 0..<txn.count {
            switch txn[i][0].string {
            case write?: verdict = .yes
            case "r"?: continue
            default: return .no
            }
        }
        return verdict
    }

    /// Validates the whole transaction before anything runs; the error names the first bad micro-op.
    func parse(_ txn: JSON) throws -> [MicroOp] {
        guard txn.exists else { throw ProtocolError.malformed("missing field 'txn'") }
        guard txn.isArray, allowsEmpty || txn.count > 0 else {
            throw ProtocolError.malformed("'txn' must be \(allowsEmpty ? "an" : "a non-empty") array of micro-ops")
        }
        var ops: [MicroOp] = []
        ops.reserveCapacity(txn.count)
        for i in 0..<txn.count {
            let op = txn[i]
            guard op.isArray, op.count == 3, let f = op[0].string, let key = op[1].value else {
                throw ProtocolError.malformed("micro-op \(i) must be [f, key, value]")
            }
            switch f {
            case "r":
                guard op[2].isNull else { throw ProtocolError.malformed("read micro-op \(i) must carry null") }
                ops.append(.read(key: key))
            case write:
                guard let value = op[2].value else { throw ProtocolError.malformed("\(write) micro-op \(i) has no value") }
                ops.append(.write(key: key, value: value))
            default:
                throw ProtocolError.malformed("micro-op \(i) has unknown function '\(f)' (expected r or \(write))")
            }
        }
        return ops
    }
}
