import EVCore
import EVReports
import EVCheckers
import EVSim
import EVSimCore
import XCTest

final class RunRankingTests: XCTestCase {
    /// Echo for 2 s; `broken` answers with the wrong value, which makes the run invalid.
    private func echo(seed: UInt64, broken: Bool = false) -> TestResult {
        Challenge.echo1.run(seed: seed) { spec in
            spec.timeLimit = 2
            guard broken else { return }
            spec.handlerFactory = { _ in WrongEcho() }
        }
    }

    final class WrongEcho: MessageHandler {
        func nodeDidInit(_ node: Node) {}
        func handle(_ m: Message, node: Node) {
            guard let req = m.request else { return }
            node.reply(to: req) { w in w.field("type", "echo_ok"); w.field("echo", "wrong") }
        }
    }

    func testWorstRunIsTheInvalidOne() {
        let runs = [echo(seed: 1), echo(seed: 2, broken: true), echo(seed: 3)]
        XCTAssertEqual(RunRanking.worst(runs)?.spec.seed, 2)
        XCTAssertTrue(RunRanking.oneLine("1", runs[1]).hasPrefix("1 seed 2: FAIL valid?=false"))
    }

    func testTiesKeepTheFirstSeed() {
        let runs = [echo(seed: 4), echo(seed: 5)]
        XCTAssertEqual(RunRanking.badness(runs[0]), RunRanking.badness(runs[1]))
        XCTAssertEqual(RunRanking.worst(runs)?.spec.seed, 4)
    }

    func testSeedsTableHasOneLinePerRunAndNoWallTime() {
        let runs = [echo(seed: 1), echo(seed: 2, broken: true)]
        let lines = RunRanking.seedsTable(runs).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(lines[0], RunRanking.seedsHeader)
        XCTAssertFalse(lines[0].contains("wall"))
        XCTAssertTrue(lines[1].hasPrefix("1\ttrue\ttrue\t\(runs[0].traceHash.hex)\t"))
        XCTAssertTrue(lines[2].hasPrefix("2\tfalse\tfalse\t"))
        XCTAssertEqual(RunRanking.seedsTable(runs), RunRanking.seedsTable([echo(seed: 1), echo(seed: 2, broken: true)]))
    }
}
