import EVCore
import EVReports
import XCTest

final class ResultFormatTests: XCTestCase {
    func testResultMapRendersAsEDN() {
        let map: JSONValue = ["valid?": ":unknown", "stable-latencies": ["0": 0, "0.5": 12], "lost": [1, 2]]
        XCTAssertEqual(ResultFormat.edn(map), "{:valid? :unknown, :stable-latencies {0 0, 0.5 12}, :lost [1 2]}")
        XCTAssertEqual(ResultFormat.edn(["xs": .array((0..<30).map { .int($0) })], elide: 3), "{:xs [0 1 2 … 27 more]}")
    }
}
