import EVCore
@testable import EVReports
import EVCheckers
import EVSim
import EVSimCore
import XCTest

/// What the results directory shows of process faults: the nemesis log, the shaded windows and the
/// figures of `evsim faults`.
final class FaultReportTests: XCTestCase {
    private func faultyRun() -> TestResult {
        var spec = Challenge.broadcast3b.spec
        spec.timeLimit = 15
        spec.nemesis = [.partition, .kill, .pause]
        spec.nemesisInterval = 3
        spec.seed = 4
        spec.workloads.durability.enabled = true
        return Runner(spec: spec).run()
    }

    func testPlotsShadeEveryFaultWindow() {
        let r = faultyRun()
        let windows = Pictures.faultSpans(r) // the same spans the pictures shade
        for kind in [NemesisEvent.Action.startPartition, .kill, .pause] {
            let opened = r.nemesisEvents.filter { $0.action == kind && (kind == .startPartition || !$0.nodes.isEmpty) }.count
            XCTAssertEqual(windows.filter { $0.kind == kind }.count, opened, "\(kind)")
        }
        XCTAssertTrue(windows.contains { $0.kind == .kill } || windows.contains { $0.kind == .pause })
        XCTAssertTrue(windows.allSatisfy { $0.from <= $0.to })
        let script = Plots.script(r, terminal: "png", title: "t").text
        XCTAssertEqual(script.components(separatedBy: "rect from").count - 1, windows.count)
        let summary = Summary.text(r, challenge: .broadcast3b, replayCommand: "x", wallSeconds: nil, elide: nil)
        for e in r.nemesisEvents { XCTAssertTrue(summary.contains(e.summary)) }
        XCTAssertTrue(ResultTables.nemesis(r.nemesisEvents).contains("\tkill\t") || ResultTables.nemesis(r.nemesisEvents).contains("\tpause\t"))
        XCTAssertTrue(Challenge.broadcast3b.maelstromCommand(for: r.spec).hasPrefix("EVNODE_DURABLE=1 maelstrom test"))
    }

    func testFaultFiguresMeasureARun() {
        let c = FaultFigures.cases.first { $0.challenge.name == "3b" && $0.durable }!
        XCTAssertEqual(c.name, "3b durable kill,partition,pause")
        XCTAssertEqual(c.replay(seed: 2), "evsim 3b --seed 2 --nemesis kill,partition,pause --durable")
        let r = faultyRun()
        let row = FaultFigures.measure(r, case: c)
        XCTAssertEqual(row.silenced, r.undeliverable.count)
        XCTAssertEqual(row.kills, r.results["nemesis"]?["kill-count"]?.int)
        XCTAssertNotNil(row.lost)
        let table = FaultFigures.table([row, row])
        XCTAssertEqual(table.split(separator: "\n").count, 3, "header, rule, one line per case")
        XCTAssertEqual(FaultFigures.tsv([row]).split(separator: "\n").count, 2)
        // 12 durable, every challenge under partition+pause, 12 under kill.
        XCTAssertEqual(FaultFigures.cases.count, 12 + Challenges.all.count + 12)
    }
}
