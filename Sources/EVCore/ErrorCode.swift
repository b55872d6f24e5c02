/// Maelstrom's error codes (protocol reference §4.3). Codes ≥ 1000 are ours; Maelstrom treats
/// unknown codes as indefinite.
public enum ErrorCode: Int, Sendable {
    case timeout = 0
    case nodeNotFound = 1
    case notSupported = 10
    case temporarilyUnavailable = 11
    case malformedRequest = 12
    case crash = 13
    case abort = 14
    case keyDoesNotExist = 20
    case keyAlreadyExists = 21
    case preconditionFailed = 22
    case txnConflict = 30

    /// Definite errors promise the operation did not and will not happen.
    public var isDefinite: Bool {
        switch self {
        case .timeout, .crash: return false
        default: return true
        }
    }
}
