import EVCore
import Workloads
import XCTest

/// `KVMachine`, lin-kv's replicated map (Sources/Workloads/LinearizableKV.swift), on its own:
/// Maelstrom's lin-kv semantics for read, write and cas, with its error codes (20: key does not
/// exist, 22: precondition failed).
final class KVMachineTests: XCTestCase {
    private var kv = KVMachine()

    private func code(_ answer: Answer) -> Int? {
        if case .error(let code, _) = answer { return code.rawValue }
        return nil
    }

    private func read(_ key: JSONValue) -> JSONValue? {
        if case .ok("read_ok", let fields) = kv.query(key) { return fields["value"] }
        return nil
    }

    func testReadOfAMissingKeyIsError20() {
        XCTAssertEqual(code(kv.query(1)), 20)
        XCTAssertEqual(code(kv.query("1")), 20)
    }

    func testWriteThenReadSeesTheLastValueWritten() {
        XCTAssertEqual(kv.apply(["w", 1, 3]), .ok(type: "write_ok", fields: [:]))
        XCTAssertEqual(kv.query(1), .ok(type: "read_ok", fields: ["value": 3]))
        XCTAssertEqual(kv.apply(["w", 1, 4]), .ok(type: "write_ok", fields: [:]), "a write needs no existing key and overwrites")
        XCTAssertEqual(read(1), 4)
        _ = kv.apply(["w", 2, ["any", "json"]])
        XCTAssertEqual(read(2), ["any", "json"], "values are any JSON")
        XCTAssertEqual(read(1), 4, "keys are independent")
        XCTAssertEqual(kv.map, [1: 4, 2: ["any", "json"]])
    }

    func testCasOnAMissingKeyIsError20AndCreatesNothing() {
        XCTAssertEqual(code(kv.apply(["c", 5, 0, 1])), 20)
        XCTAssertEqual(code(kv.apply(["c", 5, nil, 1])), 20, "null is not a missing key's value")
        XCTAssertEqual(kv.map, [:])
    }

    func testCasWithAWrongFromIsError22AndChangesNothing() {
        _ = kv.apply(["w", 1, 3])
        XCTAssertEqual(code(kv.apply(["c", 1, 4, 5])), 22)
        XCTAssertEqual(code(kv.apply(["c", 1, "3", 5])), 22, "from is compared as JSON: 3 is not \"3\"")
        XCTAssertEqual(read(1), 3)
    }

    func testCasWithTheCurrentValueSetsTheNewOne() {
        _ = kv.apply(["w", 1, 3])
        XCTAssertEqual(kv.apply(["c", 1, 3, 5]), .ok(type: "cas_ok", fields: [:]))
        XCTAssertEqual(read(1), 5)
        XCTAssertEqual(code(kv.apply(["c", 1, 3, 6])), 22, "the old value no longer matches")
        XCTAssertEqual(read(1), 5)
    }

    func testAQueryDoesNotChangeTheMap() {
        _ = kv.apply(["w", 1, 3])
        _ = kv.query(2)
        _ = kv.query(1)
        XCTAssertEqual(kv.map, [1: 3])
    }

    /// A command evnode did not write (a damaged or foreign log entry) is refused as a crash
    /// (13: indefinite), never guessed at.
    func testAnUnknownCommandIsACrashAndChangesNothing() {
        for bad: JSONValue in [["x", 1, 2], ["w", 1], ["c", 1, 2], "w", nil] {
            XCTAssertEqual(code(kv.apply(bad)), 13, bad.text)
        }
        XCTAssertEqual(kv.map, [:])
    }
}
