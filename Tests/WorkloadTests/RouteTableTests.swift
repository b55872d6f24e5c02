import EVCore
@testable import Workloads
import XCTest

/// `RouteTable.resolve` on its own: type, body and the running workloads in, a decision out.
final class RouteTableTests: XCTestCase {
    private let table = RouteTable.builtIn

    private func resolve(_ bodyText: String, active: Set<WorkloadKind> = [], forced: WorkloadKind? = nil) -> RouteTable.Decision {
        let document = JSONDocument(parsing: bodyText)!
        return withExtendedLifetime(document) {
            table.resolve(type: document.root["type"].string!, body: document.root, active: active, forced: forced)
        }
    }

    private func runs(_ decision: RouteTable.Decision) -> WorkloadKind? {
        if case .run(let route) = decision { return route.kind }
        return nil
    }

    private func holds(_ decision: RouteTable.Decision) -> [WorkloadKind]? {
        if case .hold(let candidates) = decision { return candidates }
        return nil
    }

    private func rejects(_ decision: RouteTable.Decision) -> ProtocolError? {
        if case .reject(let error) = decision { return error }
        return nil
    }

    func testATypeOneWorkloadServesRunsThatWorkload() {
        XCTAssertEqual(runs(resolve(#"{"type":"echo","echo":1}"#)), .echo)
        XCTAssertEqual(runs(resolve(#"{"type":"topology"}"#)), .broadcast, "its handler checks the body")
        XCTAssertEqual(runs(resolve(#"{"type":"la_vote"}"#)), .txnListAppend)
    }

    func testUnknownTypesAndTypesOutsideTheForcedWorkloadAreRejected() {
        XCTAssertEqual(rejects(resolve(#"{"type":"nope"}"#))?.code, .notSupported)
        XCTAssertEqual(rejects(resolve(#"{"type":"broadcast"}"#, forced: .kafka))?.text, "broadcast is not a kafka message")
        XCTAssertEqual(runs(resolve(#"{"type":"read"}"#, forced: .gCounter)), .gCounter, "forced: nothing to tell apart")
    }

    func testABodyThatTellsPicksItsWorkload() {
        XCTAssertEqual(runs(resolve(#"{"type":"add","element":1}"#)), .gSet)
        XCTAssertEqual(runs(resolve(#"{"type":"add","delta":1}"#)), .gCounter)
        XCTAssertEqual(runs(resolve(#"{"type":"read","key":1}"#)), .linKV)
        XCTAssertEqual(runs(resolve(#"{"type":"txn","txn":[["w",1,2]]}"#)), .txn)
        XCTAssertEqual(runs(resolve(#"{"type":"txn","txn":[["append",1,2]]}"#)), .txnListAppend)
        XCTAssertEqual(runs(resolve(#"{"type":"add","element":1}"#, active: [.gCounter])), .gSet, "a yes beats a running workload")
    }

    func testABodyThatFitsSeveralIsHeldUnlessOneRuns() {
        XCTAssertEqual(holds(resolve(#"{"type":"read"}"#)), [.broadcast, .gSet, .gCounter])
        XCTAssertEqual(holds(resolve(#"{"type":"txn","txn":[["r",1,null]]}"#)), [.txn, .txnListAppend])
        XCTAssertEqual(runs(resolve(#"{"type":"read"}"#, active: [.gSet])), .gSet)
        XCTAssertEqual(runs(resolve(#"{"type":"read"}"#, active: [.gSet, .broadcast])), .broadcast, "WorkloadKind order")
        XCTAssertEqual(runs(resolve(#"{"type":"txn","txn":[["r",1,null]]}"#, active: [.txnListAppend])), .txnListAppend)
    }

    /// Issue 20: an `add` with neither field must not open g-set (and record it).
    func testABodyNoWorkloadAcceptsOpensNothing() {
        let error = rejects(resolve(#"{"type":"add","elephant":1}"#))
        XCTAssertEqual(error?.code, .malformedRequest)
        XCTAssertEqual(error?.text, "add fits no workload: g-set needs a field 'element'; g-counter needs a field 'delta'")
        XCTAssertEqual(rejects(resolve(#"{"type":"txn","txn":[["w",1,2],["append",1,3]]}"#))?.text,
                       "txn fits no workload: txn-rw-register needs micro-ops r and w; txn-list-append needs micro-ops r and append")
        XCTAssertEqual(runs(resolve(#"{"type":"add","elephant":1}"#, active: [.gSet])), .gSet,
                       "a running workload's handler says what is missing")
    }

    func testEveryPeerOnlyTypeBelongsToExactlyOneWorkload() {
        for (type, routes) in table.routes where routes.contains(where: { $0.senders == .peers }) {
            XCTAssertEqual(routes.count, 1, type)
        }
        XCTAssertTrue(table.routes.values.contains { $0.contains { $0.senders == .peers } }, "the check is not vacuous")
    }

    func testTheEmptyStateReplyIsTheOneEveryCandidateAgreesOn() {
        let readOnly: JSONValue = ["type": "txn", "txn": [["r", 1, nil]]]
        XCTAssertEqual(table.emptyStateReply(type: "txn", body: readOnly, candidates: [.txn, .txnListAppend]),
                       ["type": "txn_ok", "txn": [["r", 1, nil]]])
        XCTAssertNil(table.emptyStateReply(type: "read", body: ["type": "read"], candidates: [.broadcast, .gSet, .gCounter]),
                     "an empty set and a zero counter differ")
    }
}
