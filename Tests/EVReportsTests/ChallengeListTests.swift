import EVReports
import EVCheckers
import EVSim
import EVSimCore
import Foundation
import XCTest

/// README's command table and scripts/maelstrom-all.sh both come from `Challenges.all`.
final class ChallengeListTests: XCTestCase {
    func testReadmeTableIsGenerated() throws {
        let readme = try String(contentsOf: DeterminismTests.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try XCTUnwrap(ChallengeList.readmeSection(of: readme), "README lacks the generated-table markers")
        XCTAssertEqual(section, ChallengeList.readmeTable(),
                       "README's Maelstrom table is stale: replace it with `evsim list --readme-table`")
    }

    func testOneCommandPerDistinctTestInChallengeOrder() {
        let commands = ChallengeList.maelstromCommands(bin: "/bin/evnode")
        XCTAssertEqual(commands.count, Set(commands).count)
        XCTAssertEqual(commands.first, "maelstrom test -w echo --bin /bin/evnode --node-count 1 --time-limit 10")
        XCTAssertTrue(commands.allSatisfy { $0.hasPrefix("maelstrom test -w ") && $0.contains("--bin /bin/evnode ") })
        // 3d and 3e share a command (only the goals differ), as do 5b and 5c.
        let groups = ChallengeList.byCommand().map { $0.challenges.map(\.name) }
        XCTAssertTrue(groups.contains(["3d", "3e"]))
        XCTAssertTrue(groups.contains(["5b", "5c"]))
        XCTAssertEqual(groups.flatMap { $0 }.count, Challenges.all.count)
        XCTAssertTrue(commands.contains { $0.hasSuffix("--nemesis partition --consistency-models read-committed") },
                      "6c is typed with an ASCII --nemesis")
    }

    func testMaelstromScriptRunsTheGeneratedList() throws {
        let script = try String(contentsOf: DeterminismTests.repository.appendingPathComponent("scripts/maelstrom-all.sh"),
                                encoding: .utf8)
        XCTAssertTrue(script.contains("list --maelstrom-commands"), "the script must take its commands from evsim")
        XCTAssertFalse(script.contains("-w echo"), "no hand-kept command list in the script")
    }
}
