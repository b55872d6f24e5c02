import EVCheckers
import EVCore
import EVSimCore
import Workloads

/// Challenge 1's workload (protocol reference §9.1): `echo` requests carrying
/// "Please echo <0..127>"; every completion must carry back exactly the value sent.
public final class EchoModel: WorkloadModel {
    public let kind = WorkloadKind.echo
    static let schema = ReplySchema(type: "echo_ok", fields: [("echo", .any)])

    public init() {}

    public func nextOperation(worker: Int, rng: inout SimRandom) -> (f: String, value: JSONValue) {
        ("echo", .string("Please echo \(rng.int(0...127))"))
    }

    public func execute(f: String, value: JSONValue, worker: Int,
                        call: @escaping (JSONValue, @escaping (JSONValue?) -> Void) -> Void,
                        complete: @escaping (Outcome) -> Void) {
        call(["type": "echo", "echo": value]) { reply in
            complete(classify(reply, schema: Self.schema) { $0["echo"] ?? .null })
        }
    }

    /// Every invocation's completion must be ok and carry the request's value. A timeout or an
    /// error has no echo, so it counts as a mismatch too (as in Maelstrom's echo checker).
    public func check(_ history: [Operation]) -> CheckResult {
        var errors: [JSONValue] = []
        var errorCount = 0
        for op in history {
            let matches: Bool
            let got: JSONValue
            switch op.outcome {
            case .ok(let echoed)?: matches = echoed == op.value; got = echoed
            case .fail(let why)?, .info(let why)?: matches = false; got = .string(why)
            case nil: matches = false; got = "no completion"
            }
            guard !matches else { continue }
            errorCount += 1
            if errors.count < 16 {
                errors.append(["process": .int(op.process), "expected": op.value, "got": got,
                               "time-ms": .int(Int(op.invokedAt / 1000))])
            }
        }
        let valid = errorCount == 0 && !history.isEmpty
        return CheckResult(validity: history.isEmpty ? .unknown : (valid ? .valid : .invalid),
                           details: ["valid?": history.isEmpty ? ":unknown" : .bool(valid),
                                     "count": .int(history.count), "error-count": .int(errorCount),
                                     "errors": .array(errors)])
    }
}
