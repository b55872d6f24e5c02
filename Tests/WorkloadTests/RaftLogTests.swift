import EVCore
@testable import Workloads
import XCTest

/// `RaftLog` on its own (Sources/Workloads/Consensus/RaftLog.swift): indices from 1 behind a
/// sentinel of term 0, the consistency check's merge (§5.3), the up-to-date rule of elections
/// (§5.4.1), and the wire forms of entries and durable records.
final class RaftLogTests: XCTestCase {
    private func entry(_ term: Int, _ seq: Int = 0, origin: Int = 0) -> RaftEntry {
        RaftEntry(term: term, origin: origin, seq: seq, command: ["w", .int(seq), .int(term)])
    }

    /// A log holding entries of these terms at indices 1, 2, …
    private func log(_ terms: [Int]) -> RaftLog {
        var log = RaftLog()
        for (i, t) in terms.enumerated() { _ = log.append(entry(t, i + 1)) }
        return log
    }

    private func terms(_ log: RaftLog) -> [Int] { (1..<(log.lastIndex + 1)).map { log[$0].term } }

    // MARK: append, term lookup, bounds

    func testAnEmptyLogHasOnlyTheSentinelOfTermZero() {
        let log = RaftLog()
        XCTAssertEqual(log.lastIndex, 0)
        XCTAssertEqual(log.lastTerm, 0)
        XCTAssertEqual(log.term(at: 0), 0, "every consistency check has a predecessor")
        XCTAssertNil(log.term(at: 1))
        XCTAssertNil(log.term(at: -1))
    }

    func testAppendReturnsTheNewIndexAndTermsAreLookedUpByIndex() {
        var log = RaftLog()
        XCTAssertEqual(log.append(entry(1, 7)), 1)
        XCTAssertEqual(log.append(entry(1, 8)), 2)
        XCTAssertEqual(log.append(entry(3, 9)), 3)
        XCTAssertEqual(log.lastIndex, 3)
        XCTAssertEqual(log.lastTerm, 3)
        XCTAssertEqual([0, 1, 2, 3].map { log.term(at: $0) }, [0, 1, 1, 3])
        XCTAssertNil(log.term(at: 4), "past the end")
        XCTAssertEqual(log[2], entry(1, 8))
    }

    // MARK: entries from an index

    func testSliceGivesTheEntriesAfterAnIndexUpToALimit() {
        let log = log([1, 1, 2, 2, 3])
        XCTAssertEqual(log.slice(after: 0, limit: 10).map(\.seq), [1, 2, 3, 4, 5])
        XCTAssertEqual(log.slice(after: 2, limit: 2).map(\.seq), [3, 4], "starts right after prev, at most limit")
        XCTAssertEqual(log.slice(after: 4, limit: 10).map(\.seq), [5])
        XCTAssertEqual(log.slice(after: 5, limit: 10).count, 0, "nothing after the last entry")
    }

    // MARK: the consistency check's merge (§5.3)

    func testMergeAppendsAfterTheLastEntryAndReportsWhatItWrote() {
        var log = log([1])
        let written = log.merge(after: 1, [entry(1, 2), entry(2, 3)], committed: 0)
        XCTAssertEqual(written, 2..<4)
        XCTAssertEqual(terms(log), [1, 1, 2])
        XCTAssertEqual(log[3], entry(2, 3))
    }

    /// A duplicate or reordered (older, shorter) append changes nothing: entries already there
    /// with the same term are kept, and so is what follows them.
    func testADuplicateOrStaleAppendChangesNothing() {
        var log = log([1, 1, 2])
        let written = log.merge(after: 0, [entry(1, 1), entry(1, 2)], committed: 0)
        XCTAssertEqual(written?.isEmpty, true, "nothing written")
        XCTAssertEqual(terms(log), [1, 1, 2], "the entry after the stale append's end is kept")
        XCTAssertEqual(log.merge(after: 3, [], committed: 0)?.isEmpty, true, "a heartbeat writes nothing")
        XCTAssertEqual(log.lastIndex, 3)
    }

    /// The first entry whose term differs is a conflict: it and everything after it go, and the
    /// leader's entries take their place.
    func testAConflictTruncatesTheLogFromTheConflictingEntry() {
        var log = log([1, 1, 2, 2, 2])
        let written = log.merge(after: 1, [entry(1, 2), entry(3, 30)], committed: 2)
        XCTAssertEqual(written, 3..<4, "index 2 matched; 3 was rewritten")
        XCTAssertEqual(terms(log), [1, 1, 3], "entries 4 and 5 of the conflicting term are gone")
        XCTAssertEqual(log[3].seq, 30)
        XCTAssertEqual(log.lastTerm, 3)
    }

    /// A conflict at or below the commit index is refused whole: a committed entry is never
    /// replaced (only a broken or lying peer sends one).
    func testAConflictWithACommittedEntryIsRefusedAndChangesNothing() {
        var log = log([1, 1, 2])
        XCTAssertNil(log.merge(after: 1, [entry(1, 2), entry(3, 3), entry(3, 4)], committed: 3))
        XCTAssertEqual(terms(log), [1, 1, 2], "unchanged, not even the entries after the conflict appended")
        XCTAssertNotNil(log.merge(after: 1, [entry(1, 2), entry(3, 3)], committed: 2), "above the commit index it is taken")
        XCTAssertEqual(terms(log), [1, 1, 3])
    }

    // MARK: the up-to-date rule (§5.4.1)

    /// A vote goes only to a candidate whose log is at least as up to date: the later last term
    /// wins whatever the lengths; with equal last terms the longer log (or an equal one) wins.
    func testACandidateIsUpToDateByLastTermThenByLength() {
        let log = log([1, 1, 2, 2]) // last index 4, last term 2
        XCTAssertTrue(log.isBehindOrEqual(lastIndex: 1, lastTerm: 3), "a later last term, though shorter")
        XCTAssertTrue(log.isBehindOrEqual(lastIndex: 4, lastTerm: 2), "equal")
        XCTAssertTrue(log.isBehindOrEqual(lastIndex: 9, lastTerm: 2), "same term, longer")
        XCTAssertFalse(log.isBehindOrEqual(lastIndex: 3, lastTerm: 2), "same term, shorter")
        XCTAssertFalse(log.isBehindOrEqual(lastIndex: 20, lastTerm: 1), "an earlier last term, though longer")
        XCTAssertTrue(RaftLog().isBehindOrEqual(lastIndex: 0, lastTerm: 0), "two empty logs")
        XCTAssertFalse(log.isBehindOrEqual(lastIndex: 0, lastTerm: 0), "an empty log is behind a non-empty one")
    }

    // MARK: the follower's hint

    func testTheHintIsTheFirstIndexOfTheConflictingTerm() {
        let log = log([1, 2, 2, 2, 3])
        XCTAssertEqual(log.firstIndex(ofTermAt: 4), 2, "skip the whole of term 2")
        XCTAssertEqual(log.firstIndex(ofTermAt: 5), 5)
        XCTAssertEqual(log.firstIndex(ofTermAt: 1), 1)
    }

    // MARK: replaying stored records

    func testRestoreReplaysInOrderTruncatesOnRewriteAndRefusesAGap() {
        var log = RaftLog()
        XCTAssertTrue(log.restore(entry(1, 1), at: 1))
        XCTAssertTrue(log.restore(entry(1, 2), at: 2))
        XCTAssertTrue(log.restore(entry(1, 3), at: 3))
        XCTAssertTrue(log.restore(entry(2, 20), at: 2), "an entry below the end truncates what follows, as the log did")
        XCTAssertEqual(terms(log), [1, 2])
        XCTAssertFalse(log.restore(entry(2, 5), at: 4), "a gap: a damaged store")
        XCTAssertEqual(log.lastIndex, 2)
    }

    // MARK: wire forms

    /// The items `body` writes into one JSON array.
    private func written(_ body: (inout JSONWriter) -> Void) -> String {
        let out = ByteBuffer(capacity: 256)
        var w = JSONWriter(out)
        w.array(body)
        return out.string
    }

    /// `body` over the parsed `text`; the document lives until `body` returns (its views borrow it).
    private func decoded<T>(_ text: String, _ body: (JSON) -> T) throws -> T {
        let doc = try XCTUnwrap(JSONDocument(parsing: text), text)
        return withExtendedLifetime(doc) { body(doc.root) }
    }

    func testAnEntryIsTermOriginSeqCommandOnTheWire() throws {
        let e = RaftEntry(term: 3, origin: -1, seq: 0, command: .null)
        let text = written { e.write(into: &$0) }
        XCTAssertEqual(text, "[[3,-1,0,null]]")
        XCTAssertEqual(try decoded(text) { RaftEntry(json: $0[0]) }, e)
        for bad in ["[-1,0,0,null]", "[1,0,0]", "[1,0,0,null,5]", #"{"term":1}"#, #"["1",0,0,null]"#] {
            XCTAssertNil(try decoded(bad) { RaftEntry(json: $0) }, bad)
        }
    }

    func testDurableRecordsRoundTrip() throws {
        let records: [RaftRecord] = [.hardState(term: 4, votedFor: 2), .hardState(term: 5, votedFor: nil),
                                     .entry(index: 7, RaftEntry(term: 5, origin: 1, seq: 42, command: ["c", 1, 2, 3]))]
        let text = written { a in for r in records { r.write(into: &a) } }
        XCTAssertEqual(text, #"[["h",4,2],["h",5,-1],["e",7,5,1,42,["c",1,2,3]]]"#)
        let decodedRecords = try decoded(text) { root in records.indices.map { RaftRecord(json: root[$0]) } }
        for (i, r) in records.enumerated() {
            guard let back = decodedRecords[i] else { return XCTFail("record \(i)") }
            switch (back, r) {
            case let (.hardState(t1, v1), .hardState(t2, v2)): XCTAssertEqual([t1, v1 ?? -1], [t2, v2 ?? -1])
            case let (.entry(i1, e1), .entry(i2, e2)): XCTAssertEqual(i1, i2); XCTAssertEqual(e1, e2)
            default: XCTFail("record \(i) changed kind")
            }
        }
        XCTAssertNil(try decoded(#"["e",0,1,0,0,null]"#) { RaftRecord(json: $0) }, "indices start at 1")
        XCTAssertNil(try decoded(#"["x",1,2]"#) { RaftRecord(json: $0) })
    }
}
