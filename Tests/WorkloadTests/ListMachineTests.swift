import EVCore
import Workloads
import XCTest

/// `ListMachine`, txn-list-append's replicated lists (Sources/Workloads/ListAppend.swift), on its
/// own: a transaction runs whole, in order, and its reads see its own earlier appends.
final class ListMachineTests: XCTestCase {
    private var lists = ListMachine()

    private func txn(_ answer: Answer) -> JSONValue? {
        if case .ok("txn_ok", let fields) = answer { return fields["txn"] }
        return nil
    }

    func testAReadOfAMissingKeyIsNull() {
        XCTAssertEqual(txn(lists.apply([["r", 1, nil]])), [["r", 1, nil]])
        XCTAssertEqual(txn(lists.query([["r", 1, nil]])), [["r", 1, nil]])
    }

    func testReadsSeeTheTransactionsOwnEarlierAppendsOnly() {
        let done = txn(lists.apply([["r", 1, nil], ["append", 1, 5], ["r", 1, nil], ["append", 1, 6], ["r", 1, nil], ["r", 2, nil]]))
        XCTAssertEqual(done, [["r", 1, nil], ["append", 1, 5], ["r", 1, [5]], ["append", 1, 6], ["r", 1, [5, 6]], ["r", 2, nil]])
        XCTAssertEqual(lists.lists, [1: [5, 6]])
    }

    func testAppendsAccumulateAcrossTransactionsInApplyOrder() {
        _ = lists.apply([["append", 1, 1], ["append", 2, 10]])
        _ = lists.apply([["append", 1, 2]])
        XCTAssertEqual(txn(lists.apply([["r", 1, nil], ["r", 2, nil]])), [["r", 1, [1, 2]], ["r", 2, [10]]])
        XCTAssertEqual(lists.lists, [1: [1, 2], 2: [10]])
    }

    /// A query (a read-only transaction at its read index) answers as apply would, and leaves the
    /// state as it was, even if it carries appends.
    func testAQueryDoesNotChangeState() {
        _ = lists.apply([["append", 1, 1]])
        XCTAssertEqual(txn(lists.query([["r", 1, nil]])), [["r", 1, [1]]])
        XCTAssertEqual(txn(lists.query([["append", 1, 9], ["r", 1, nil]])), [["append", 1, 9], ["r", 1, [1, 9]]])
        XCTAssertEqual(lists.lists, [1: [1]])
        XCTAssertEqual(txn(lists.apply([["r", 1, nil]])), [["r", 1, [1]]])
    }

    func testAnUnknownCommandIsACrash() {
        for bad: JSONValue in [nil, "r", [["r", 1]]] {
            guard case .error(let code, _) = lists.apply(bad) else { return XCTFail(bad.text) }
            XCTAssertEqual(code, .crash, bad.text)
        }
    }
}
