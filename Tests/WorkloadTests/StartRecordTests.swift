import EVCore
@testable import Workloads
import XCTest

/// `StartRecord` on its own, answer by answer: when a process is a restart, and when a workload
/// may run.
final class StartRecordTests: XCTestCase {
    private var record = StartRecord(nodeID: "n1", incarnation: 100)

    private func content(_ incarnation: Int, _ workloads: Set<WorkloadKind>) -> JSONValue {
        StartRecord.Content(incarnation: incarnation, workloads: workloads).json
    }

    private let missing = KVResult.error(code: .keyDoesNotExist, text: "missing")

    func testAFreshProcessRecordsItsWorkloadFromNothing() {
        XCTAssertEqual(record.key, "evnode/node/n1")
        XCTAssertEqual(record.start(), [.read(after: 0)])
        XCTAssertEqual(record.need(.kafka), [], "nothing is known yet: written once the read answers")
        XCTAssertEqual(record.readAnswered(missing), [.write(from: nil, to: content(100, [.kafka]))])
        XCTAssertNil(record.predecessor)
        XCTAssertFalse(record.isRecorded(.kafka), "not before lin-kv confirms")
        XCTAssertEqual(record.writeAnswered(.ok(nil)), [.recorded([.kafka])])
        XCTAssertTrue(record.isRecorded(.kafka))
        XCTAssertFalse(record.wasRunBefore(.kafka))
    }

    func testAProcessThatFindsAnotherIncarnationsRecordIsARestartOfItsWorkloads() {
        _ = record.start()
        let before = content(42, [.broadcast])
        XCTAssertEqual(record.readAnswered(.ok(before)), [.write(from: before, to: content(100, [.broadcast]))],
                       "the predecessor's workloads reopen at once")
        XCTAssertEqual(record.predecessor?.incarnation, 42)
        XCTAssertEqual(record.writeAnswered(.ok(nil)), [.recorded([.broadcast])])
        XCTAssertTrue(record.wasRunBefore(.broadcast))
        XCTAssertEqual(record.need(.gSet), [.write(from: content(100, [.broadcast]), to: content(100, [.broadcast, .gSet]))])
        XCTAssertEqual(record.writeAnswered(.ok(nil)), [.recorded([.broadcast, .gSet])])
        XCTAssertFalse(record.wasRunBefore(.gSet), "a workload the predecessor did not run starts fresh")
    }

    /// A record lin-kv holds but evnode cannot read still proves a predecessor.
    func testAnUnreadableRecordIsStillARestart() {
        _ = record.start()
        _ = record.readAnswered(.ok("garbage"))
        XCTAssertNotNil(record.predecessor)
    }

    func testAFailedReadIsRetriedNeverTakenForFresh() {
        _ = record.start()
        _ = record.need(.kafka)
        for failure in [KVResult.timeout, .error(code: .temporarilyUnavailable, text: "busy"), .error(code: .crash, text: "?")] {
            XCTAssertEqual(record.readAnswered(failure), [.read(after: StartRecord.retryDelay)])
            XCTAssertFalse(record.known)
        }
        XCTAssertEqual(record.readAnswered(.ok(content(7, [.kafka]))).count, 1)
        XCTAssertTrue(record.known)
        XCTAssertNotNil(record.predecessor)
    }

    func testAFailedCompareAndSetReadsAgainAndFindsTheLateWriter() {
        _ = record.start()
        _ = record.need(.linKV)
        _ = record.readAnswered(missing)
        XCTAssertEqual(record.writeAnswered(.error(code: .preconditionFailed, text: "current value …")), [.read(after: 0)])
        let late = content(42, [.linKV])
        XCTAssertEqual(record.readAnswered(.ok(late)), [.write(from: late, to: content(100, [.linKV]))])
        XCTAssertTrue(record.wasRunBefore(.linKV))
    }

    func testAWriteThatTimedOutIsRecognisedByItsIncarnation() {
        _ = record.start()
        _ = record.need(.echo)
        _ = record.readAnswered(missing)
        XCTAssertEqual(record.writeAnswered(.timeout), [.read(after: 0)])
        XCTAssertEqual(record.readAnswered(.ok(content(100, [.echo]))), [.recorded([.echo])], "ours: no second write")
        XCTAssertNil(record.predecessor)
    }

    func testWorkloadsNeededDuringAWriteAreWrittenNext() {
        _ = record.start()
        _ = record.need(.echo)
        _ = record.readAnswered(missing)
        XCTAssertEqual(record.need(.uniqueIDs), [], "one write at a time")
        XCTAssertEqual(record.writeAnswered(.ok(nil)),
                       [.recorded([.echo]), .write(from: content(100, [.echo]), to: content(100, [.echo, .uniqueIDs]))])
    }
}
