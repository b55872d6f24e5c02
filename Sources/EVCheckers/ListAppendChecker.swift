/// TEMPORARY placeholder with the fixed API of Elle's list-append checker (branch elle replaces
/// this file): it checks nothing and answers :unknown.
public enum ListAppendChecker {
    public enum Model: String, Sendable {
        case strictSerializable = "strict-serializable", serializable, snapshotIsolation = "snapshot-isolation", readCommitted = "read-committed"
    }

    public static func check(_ history: [Operation], model: Model = .strictSerializable) -> CheckResult {
        CheckResult(validity: .unknown, details: ["valid?": ":unknown", "note": "placeholder"])
    }
}
