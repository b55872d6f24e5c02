import EVCore
import EVReports
import EVCheckers
import EVSim
import EVSimCore
import Workloads
import XCTest

/// Real challenge runs with the exact parameters of their Maelstrom commands, against evnode's
/// workloads. They must be valid and meet the challenge's extra goals.
final class ChallengeTests: XCTestCase {
    private func assertPasses(_ result: TestResult, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.validity, .valid, ResultFormat.edn(result.results, elide: 8), file: file, line: line)
        for g in result.goals {
            XCTAssertTrue(g.met, "\(g.goal.description): \(g.value.map { "\($0)" } ?? "missing")", file: file, line: line)
        }
    }

    func testChallenge1Echo() {
        let result = Challenge.echo1.run(seed: 1)
        assertPasses(result)
        XCTAssertEqual(Double(result.history.count), 50, accuracy: 15, "10 s at 5 ops/s")
        XCTAssertEqual(result.results["availability"]?["ok-fraction"], .double(1))
    }

    func testChallenge2UniqueIDsUnderPartitions() {
        // Seed 3 cuts the cluster for real (with 3 nodes, minority-third is a no-op).
        let result = Challenge.uniqueIDs2.run(seed: 3)
        assertPasses(result)
        XCTAssertTrue(result.nemesisEvents.contains { $0.action == .startPartition && $0.detail != "no-op" },
                      "a real partition happened")
        XCTAssertGreaterThan(result.history.count, 25_000, "1000 ops/s for 30 s against local ids")
        XCTAssertEqual(result.results["workload"]?["duplicated-count"], 0)
        // ids need no coordination; the only server messages are the workload registry's (docs/faults.md)
        XCTAssertLessThanOrEqual(result.results["net"]?["servers"]?["msg-count"]?.int ?? .max, 2 * 3 + 2 * 2)
    }

    func testChallenges3aTo3cBroadcast() throws {
        for challenge in [Challenge.broadcast3a, .broadcast3b, .broadcast3c] {
            let result = challenge.run(seed: 1)
            assertPasses(result)
            XCTAssertEqual(result.results["workload"]?["lost-count"], 0, challenge.name)
            XCTAssertEqual(result.history.filter(\.isFinal).count, challenge.spec.nodeCount, challenge.name)
        }
    }

    func testChallenge3dEfficientBroadcastMeetsItsGoals() throws {
        let result = Challenge.broadcast3d.run(seed: 1)
        assertPasses(result)
        XCTAssertEqual(result.goals.count, 3)
        // 3e is the same command with looser latency goals and a tighter budget.
        var e = result
        e.goals = Challenge.broadcast3e.goals.map { $0.evaluate(result.results) }
        assertPasses(e)
    }

    func testChallenge3dStaysCorrectUnderPartitions() throws {
        let result = Challenge.broadcast3dPartition.run(seed: 1)
        assertPasses(result)
        XCTAssertFalse(result.nemesisEvents.isEmpty)
    }

    func testChallengeTableMatchesTheCommands() {
        let commands = Dictionary(uniqueKeysWithValues: Challenges.all.map { ($0.name, $0.maelstromCommand) })
        XCTAssertEqual(commands["1"], "maelstrom test -w echo --bin BIN --node-count 1 --time-limit 10")
        XCTAssertEqual(commands["2"], "maelstrom test -w unique-ids --bin BIN --node-count 3 --time-limit 30 --rate 1000 --availability total --nemesis partition")
        XCTAssertEqual(commands["3a"], "maelstrom test -w broadcast --bin BIN --node-count 1 --time-limit 20 --rate 10")
        XCTAssertEqual(commands["3c"], "maelstrom test -w broadcast --bin BIN --node-count 5 --time-limit 20 --rate 10 --nemesis partition")
        XCTAssertEqual(commands["3d"], "maelstrom test -w broadcast --bin BIN --node-count 25 --time-limit 20 --rate 100 --latency 100")
        XCTAssertEqual(commands["3e"], commands["3d"])
        XCTAssertEqual(Set(Challenges.all.map(\.name)).count, Challenges.all.count, "names are unique")
    }
}
