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
    private let taken = KVResult.error(code: .preconditionFailed, text: "current value is not null")

    /// One round trip: the create-if-missing write both proves the start fresh and stores the record.
    func testAFreshProcessCreatesItsRecordInOneRoundTrip() {
        XCTAssertEqual(record.key, "evnode/node/n1")
        XCTAssertEqual(record.start(), [.wake(after: StartRecord.lookAhead)])
        XCTAssertEqual(record.need(.kafka), [.write(from: nil, to: content(100, [.kafka]))])
        XCTAssertFalse(record.known)
        XCTAssertFalse(record.isRecorded(.kafka), "not before lin-kv confirms")
        XCTAssertEqual(record.writeAnswered(.ok(nil)), [.recorded([.kafka])])
        XCTAssertTrue(record.known)
        XCTAssertNil(record.predecessor)
        XCTAssertTrue(record.isRecorded(.kafka))
        XCTAssertFalse(record.wasRunBefore(.kafka))
        XCTAssertEqual(record.lookUp(), [], "known: nothing to read")
    }

    /// The create fails on a restart: the record is read, and the predecessor's workloads reopen
    /// with the one that asked.
    func testACreateThatFindsAnotherIncarnationsRecordMakesARestart() {
        _ = record.start()
        _ = record.need(.gSet)
        XCTAssertEqual(record.writeAnswered(taken), [.read(after: 0)])
        let before = content(42, [.broadcast])
        XCTAssertEqual(record.readAnswered(.ok(before)), [.write(from: before, to: content(100, [.broadcast, .gSet]))])
        XCTAssertEqual(record.predecessor?.incarnation, 42)
        XCTAssertEqual(record.writeAnswered(.ok(nil)), [.recorded([.broadcast, .gSet])])
        XCTAssertTrue(record.wasRunBefore(.broadcast))
        XCTAssertFalse(record.wasRunBefore(.gSet), "a workload the predecessor did not run starts fresh")
    }

    /// Nothing to record by `lookAhead`: the record is read, so a restarted process reopens its
    /// workloads even if no message would open them.
    func testWithNothingToRecordTheRecordIsReadAfterTheLookAhead() {
        _ = record.start()
        XCTAssertEqual(record.lookUp(), [.read(after: 0)])
        XCTAssertEqual(record.lookUp(), [], "one read at a time")
        let before = content(42, [.kafka])
        XCTAssertEqual(record.readAnswered(.ok(before)), [.write(from: before, to: content(100, [.kafka]))])
        XCTAssertEqual(record.writeAnswered(.ok(nil)), [.recorded([.kafka])])
        XCTAssertTrue(record.wasRunBefore(.kafka))
    }

    func testALookUpWhileTheFirstWriteIsOutDoesNothing() {
        _ = record.start()
        _ = record.need(.echo)
        XCTAssertEqual(record.lookUp(), [])
    }

    /// A record lin-kv holds but evnode cannot read still proves a predecessor.
    func testAnUnreadableRecordIsStillARestart() {
        _ = record.start()
        _ = record.lookUp()
        _ = record.readAnswered(.ok("garbage"))
        XCTAssertNotNil(record.predecessor)
    }

    func testAFailedReadIsRetriedNeverTakenForFresh() {
        _ = record.start()
        _ = record.lookUp()
        XCTAssertEqual(record.need(.kafka), [], "written once the read answers")
        for failure in [KVResult.timeout, .error(code: .temporarilyUnavailable, text: "busy"), .error(code: .crash, text: "?")] {
            XCTAssertEqual(record.readAnswered(failure), [.read(after: StartRecord.retryDelay)])
            XCTAssertFalse(record.known)
        }
        XCTAssertEqual(record.readAnswered(.ok(content(7, [.kafka]))).count, 1)
        XCTAssertTrue(record.known)
        XCTAssertNotNil(record.predecessor)
    }

    /// A killed predecessor's write lands after our read found nothing: our compare-and-set
    /// fails, and the record read again makes this process a restart.
    func testAPredecessorsLateWriteIsFoundByTheFailedCompareAndSet() {
        _ = record.start()
        _ = record.lookUp()
        XCTAssertEqual(record.readAnswered(missing), [])
        XCTAssertEqual(record.need(.linKV), [.write(from: nil, to: content(100, [.linKV]))])
        XCTAssertEqual(record.writeAnswered(taken), [.read(after: 0)])
        let late = content(42, [.linKV])
        XCTAssertEqual(record.readAnswered(.ok(late)), [.write(from: late, to: content(100, [.linKV]))])
        XCTAssertTrue(record.wasRunBefore(.linKV))
    }

    func testAWriteThatTimedOutIsRecognisedByItsIncarnation() {
        _ = record.start()
        _ = record.need(.gSet)
        XCTAssertEqual(record.writeAnswered(.timeout), [.read(after: 0)])
        XCTAssertEqual(record.readAnswered(.ok(content(100, [.gSet]))), [.recorded([.gSet])], "ours: no second write")
        XCTAssertNil(record.predecessor)
    }

    func testWorkloadsNeededDuringAWriteAreWrittenNext() {
        _ = record.start()
        _ = record.need(.gSet)
        XCTAssertEqual(record.need(.kafka), [], "one write at a time")
        XCTAssertEqual(record.writeAnswered(.ok(nil)),
                       [.recorded([.gSet]), .write(from: content(100, [.gSet]), to: content(100, [.gSet, .kafka]))])
    }
}
