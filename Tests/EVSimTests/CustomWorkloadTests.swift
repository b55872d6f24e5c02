import EVCheckers
import EVCore
import EVSim
import EVSimCore
import Workloads
import XCTest

/// docs/adding-a-workload.md, followed by a test: `Tally` (CustomWorkload/Tally.swift) plugs into
/// a real node and into the simulator through its descriptor alone.
final class CustomWorkloadTests: XCTestCase {
    private let workloads = WorkloadDescriptor.builtIn + [Tally.descriptor]

    func testTheNodeRunsTheAddedWorkloadOnceItsStartRecordIsStored() {
        let c = Cluster(ClusterSettings(nodeCount: 2)) { [workloads] _ in Router(workloads: workloads) }
        XCTAssertEqual(c.initialize(), [])
        XCTAssertEqual(c.call("n0", ["type": "tally", "n": 3])?["total"], 3)
        XCTAssertEqual(c.call("n0", ["type": "tally", "n": 4])?["total"], 7)
        XCTAssertEqual(c.call("n1", ["type": "tally_read"])?["total"], 0, "per node")
        XCTAssertEqual(c.call("n0", ["type": "tally", "n": -1])?["code"], 12, "its handler's errors")
        XCTAssertEqual(c.linKV["evnode/node/n0"]?["workloads"], ["tally"], "recorded like any stateful workload")
        XCTAssertEqual(c.call("n0", ["type": "echo", "echo": 1])?["echo"], 1, "the built-in workloads still run beside it")
    }

    func testEvsimRunsAndChecksTheAddedWorkload() {
        var spec = TestSpec { TallyModel() }
        spec.nodeCount = 3
        spec.timeLimit = 5
        spec.rate = 50
        spec.handlerFactory = { [workloads] _ in Router(workloads: workloads) }
        let result = Runner(spec: spec).run()
        XCTAssertEqual(result.validity, .valid, result.results.text)
        XCTAssertGreaterThan(result.history.filter { $0.outcome?.isOK == true }.count, 100)

        spec.handlerFactory = { _ in Router(workloads: WorkloadDescriptor.builtIn) }
        XCTAssertEqual(Runner(spec: spec).run().validity, .invalid, "without its descriptor the node refuses tally: the checker says so")
    }
}

/// The client side of `Tally` for evsim: random `tally` operations, and a checker that each
/// node's totals are exactly the running sums of the adds it acknowledged, in completion order.
final class TallyModel: WorkloadModel {
    let kind = WorkloadKind.tally
    private static let schema = ReplySchema(type: "tally_ok", fields: [("total", .int)])

    func nextOperation(worker: Int, rng: inout SimRandom) -> (f: String, value: JSONValue) {
        ("tally", .int(rng.int(1...9)))
    }

    func execute(f: String, value: JSONValue, worker: Int,
                 call: @escaping (JSONValue, @escaping (JSONValue?) -> Void) -> Void,
                 complete: @escaping (Outcome) -> Void) {
        call(["type": "tally", "n": value]) { reply in
            complete(classify(reply, schema: Self.schema) { $0["total"] ?? .null })
        }
    }

    func check(_ history: [EVCheckers.Operation]) -> CheckResult {
        var errors = 0
        for node in Set(history.map(\.node)) {
            // One worker per node: the node's acknowledged totals are the running sums.
            var sum = 0
            for op in history where op.node == node {
                guard case .ok(let total)? = op.outcome else { errors += 1; continue }
                sum += op.value.int ?? 0
                if total.int != sum { errors += 1 }
            }
        }
        let valid = errors == 0 && !history.isEmpty
        return CheckResult(validity: valid ? .valid : .invalid, details: ["valid?": .bool(valid), "error-count": .int(errors)])
    }
}
