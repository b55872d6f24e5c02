import EVCore
import EVReports
import EVCheckers
import EVSim
import EVSimCore
import Foundation
import XCTest

/// `evsim all --out results` must rewrite results/ byte for byte: every file is a function of
/// the seed, never of the host or the moment.
final class DeterminismTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    private func write(_ name: String, to directory: URL) throws -> [String] {
        let challenge = try XCTUnwrap(Challenges.named(name))
        let result = challenge.run(seed: 1)
        return try ResultsWriter(directory: directory).write(
            result, challenge: challenge, replayCommand: ResultsWriter.replayCommand(challenge: name, seed: 1))
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("evsim-determinism-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Two runs of one seed in two directories: the same bytes in every file.
    func testSameSeedWritesIdenticalFiles() throws {
        for name in ["1", "3b"] {
            let a = try temporaryDirectory(), b = try temporaryDirectory()
            let files = try write(name, to: a)
            XCTAssertEqual(try write(name, to: b), files)
            for file in files {
                let x = try Data(contentsOf: a.appendingPathComponent(file))
                let y = try Data(contentsOf: b.appendingPathComponent(file))
                XCTAssertEqual(x, y, "\(name)/\(file) differs between two runs of seed 1")
            }
        }
    }

    /// The files of a run git keeps (.gitignore); the rest is regenerated in place.
    static let trackedFiles = ["summary.txt", "results.json", "run.json"]

    /// The committed results of a cheap challenge are what the code writes today. When a
    /// workload changes on purpose, regenerate with `.build/release/evsim all --out results`.
    func testCommittedResultsOfChallenge1AreCurrent() throws {
        let directory = try temporaryDirectory()
        let committed = Self.repository.appendingPathComponent("results/1")
        let written = try write("1", to: directory)
        XCTAssertTrue(Set(Self.trackedFiles).isSubset(of: written), "\(written)")
        for file in Self.trackedFiles {
            let tracked = committed.appendingPathComponent(file)
            let fresh = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            XCTAssertEqual(fresh, try String(contentsOf: tracked, encoding: .utf8), "results/1/\(file) is stale: run `evsim all --out results`")
        }
    }

    /// Nothing host-dependent in what is written: no absolute path, no wall time.
    func testFilesNameNoPathAndNoWallTime() throws {
        let directory = try temporaryDirectory()
        for file in try write("1", to: directory) {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            XCTAssertFalse(text.contains(directory.path), "\(file) names the output directory")
            XCTAssertFalse(text.contains("--out"), "\(file) names the output directory")
            XCTAssertNil(text.range(of: #"in \d+\.\d+ s"#, options: .regularExpression), "\(file) records wall time")
        }
    }
}
