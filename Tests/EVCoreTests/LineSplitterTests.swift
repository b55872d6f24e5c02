import EVCore
import XCTest

final class LineSplitterTests: XCTestCase {
    /// Feeds chunks and collects what comes out: lines as strings, oversized lines as "<oversized N>".
    private func split(_ chunks: [String], max: Int = 1 << 20, finish: Bool = false) -> [String] {
        var splitter = LineSplitter(maxLineBytes: max)
        var out: [String] = []
        let collect: (LineSplitter.Event) -> Void = { event in
            switch event {
            case .line(let b): out.append(String(decoding: b, as: UTF8.self))
            case .oversized(let prefix, let length, _): out.append("<oversized \(length) prefix \(prefix.count)>")
            }
        }
        for chunk in chunks {
            var c = chunk
            c.withUTF8 { splitter.feed(UnsafeRawBufferPointer($0), collect) }
        }
        if finish { splitter.finish(collect) }
        return out
    }

    func testManyLinesInOneChunk() {
        XCTAssertEqual(split(["a\nbb\nccc\n"]), ["a", "bb", "ccc"])
    }

    func testLineSplitAcrossChunks() {
        XCTAssertEqual(split(["{\"a\":", "1}\n{\"b\"", ":2}\n"]), ["{\"a\":1}", "{\"b\":2}"])
    }

    func testLineSplitAcrossManyTinyChunks() {
        let text = "hello world\nsecond\n"
        XCTAssertEqual(split(text.map { String($0) }), ["hello world", "second"])
    }

    func testEmptyLinesAreSkipped() {
        XCTAssertEqual(split(["\n\na\n\n"]), ["a"])
    }

    func testPartialLineWaitsForNewline() {
        XCTAssertEqual(split(["abc"]), [])
    }

    func testEOFMidLineDeliversTheRest() {
        XCTAssertEqual(split(["x\nlast line without newline"], finish: true), ["x", "last line without newline"])
    }

    func testHugeLineWithinLimitIsDeliveredWhole() {
        let big = String(repeating: "x", count: 300_000)
        let chunks = stride(from: 0, to: big.count, by: 65536).map { i in
            String(big.dropFirst(i).prefix(65536))
        } + ["\nnext\n"]
        let out = split(chunks)
        XCTAssertEqual(out.count, 2)
        XCTAssertEqual(out[0].count, 300_000)
        XCTAssertEqual(out[1], "next")
    }

    func testOversizedLineInOneChunkIsReportedAndSkipped() {
        let out = split(["ok\n" + String(repeating: "y", count: 5000) + "\nafter\n"], max: 1000)
        XCTAssertEqual(out, ["ok", "<oversized 5000 prefix 4096>", "after"])
    }

    func testOversizedLineAcrossChunksIsReportedAndSkipped() {
        let chunks = ["a\n" + String(repeating: "z", count: 700), String(repeating: "z", count: 700),
                      String(repeating: "z", count: 9000) + "\nb\n"]
        XCTAssertEqual(split(chunks, max: 1000), ["a", "<oversized 10400 prefix 4096>", "b"])
    }

    func testOversizedLineAtEOF() {
        XCTAssertEqual(split([String(repeating: "q", count: 50)], max: 10, finish: true), ["<oversized 50 prefix 50>"])
    }
}

extension LineSplitterTests {
    /// The reported length counts every byte, also when the buffered part was already past the
    /// prefix size when the limit was crossed.
    func testOversizedLengthAfterLargeBufferedPart() {
        let chunks = [String(repeating: "a", count: 6000), String(repeating: "b", count: 6000), "c\nd\n"]
        XCTAssertEqual(split(chunks, max: 10_000), ["<oversized 12001 prefix 4096>", "d"])
    }
}
