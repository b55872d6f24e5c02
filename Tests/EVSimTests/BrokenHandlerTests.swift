import EVCore
import EVCheckers
import EVSim
import EVSimCore
import Workloads
import XCTest

/// Each checker must catch a deliberately broken node: these run the real harness against
/// handlers injected through `TestSpec.handlerFactory` and expect an invalid verdict.
final class BrokenHandlerTests: XCTestCase {
    /// Answers every request with what `respond` writes (nil: no answer at all).
    final class ScriptedHandler: MessageHandler {
        let respond: (Message, Node) -> Void
        var onInit: (Node) -> Void = { _ in }
        init(_ respond: @escaping (Message, Node) -> Void) { self.respond = respond }
        func nodeDidInit(_ node: Node) { onInit(node) }
        func handle(_ message: Message, node: Node) { respond(message, node) }
    }

    /// Forwards everything to evnode's real router except what `intercept` handles (returns true).
    final class InterceptingHandler: MessageHandler {
        let router = Router()
        let intercept: (Message, Node) -> Bool
        init(_ intercept: @escaping (Message, Node) -> Bool) { self.intercept = intercept }
        func nodeDidInit(_ node: Node) { router.nodeDidInit(node) }
        func handle(_ message: Message, node: Node) {
            if !intercept(message, node) { router.handle(message, node: node) }
        }
    }

    private func echoSpec(seconds: Double = 5) -> TestSpec {
        var spec = Challenge.echo1.spec
        spec.timeLimit = seconds
        return spec
    }

    func testEchoReturningAnotherValueIsInvalid() {
        var spec = echoSpec()
        spec.handlerFactory = { _ in
            ScriptedHandler { m, node in
                guard let req = m.request else { return }
                node.reply(to: req) { w in
                    w.field("type", "echo_ok")
                    w.field("echo", "something else")
                }
            }
        }
        let result = Runner(spec: spec).run()
        XCTAssertEqual(result.validity, .invalid)
        XCTAssertEqual(result.results["workload"]?["valid?"], false)
        XCTAssertEqual(result.results["workload"]?["error-count"]?.int, result.history.count)
        XCTAssertEqual(result.results["stats"]?["valid?"], true, "the replies were ok, only the values were wrong")
    }

    func testEchoReplyWithAnExtraKeyIsMalformedAndInvalid() {
        var spec = echoSpec()
        spec.handlerFactory = { _ in
            ScriptedHandler { m, node in
                guard let req = m.request else { return }
                let value = m.body["echo"].value ?? .null
                node.reply(to: req) { w in
                    w.field("type", "echo_ok")
                    w.field("echo", value)
                    w.field("extra", 1)
                }
            }
        }
        let result = Runner(spec: spec).run()
        XCTAssertEqual(result.validity, .invalid)
        guard case .info(let why)? = result.history.first?.outcome else { return XCTFail("expected :info") }
        XCTAssertTrue(why.hasPrefix("malformed-response"), why)
    }

    func testSilentNodeTimesOutAndClientsAreReplaced() {
        var spec = echoSpec(seconds: 12)
        spec.handlerFactory = { _ in ScriptedHandler { _, _ in } }
        let result = Runner(spec: spec).run()
        XCTAssertEqual(result.validity, .invalid)
        XCTAssertEqual(result.results["stats"]?["valid?"], false, "echo never succeeded")
        XCTAssertEqual(result.results["availability"]?["ok-fraction"], .double(0))
        // 12 s of 5 s timeouts: three ops, each on a new client id and a new process.
        XCTAssertEqual(result.history.count, 3)
        XCTAssertEqual(Set(result.history.map(\.client)).count, 3)
        XCTAssertEqual(result.history.map(\.process), [0, 1, 2])
        for op in result.history {
            XCTAssertEqual(op.outcome, .info("net-timeout"))
            XCTAssertEqual(op.completedAt! - op.invokedAt, .ms(5000))
        }
    }

    func testReplyToAClosedClientMakesTheRunInvalid() {
        // A node that answers after 6 s, past the client's 5 s timeout, after the client was
        // closed: Maelstrom would stop reading that node's output.
        var spec = echoSpec(seconds: 8)
        spec.handlerFactory = { _ in
            let handler = ScriptedHandler { m, node in
                guard let req = m.request else { return }
                let value = m.body["echo"].value ?? .null
                _ = node.after(.ms(6000)) {
                    node.reply(to: req) { w in
                        w.field("type", "echo_ok")
                        w.field("echo", value)
                    }
                }
            }
            handler.onInit = { $0.clientReplyDeadline = .seconds(60) } // defeat evnode's own guard
            return handler
        }
        let result = Runner(spec: spec).run()
        XCTAssertEqual(result.validity, .invalid)
        XCTAssertEqual(result.results["undeliverable"]?["valid?"], false)
        XCTAssertGreaterThan(result.undeliverable.count, 0)
        XCTAssertEqual(result.undeliverable.first?.src, "n0")
    }

    func testUniqueIDsRepeatingAnIDIsInvalid() {
        var spec = Challenge.uniqueIDs2.spec
        spec.timeLimit = 3
        spec.handlerFactory = { nodeID in
            var counter = 0
            return ScriptedHandler { m, node in
                guard let req = m.request else { return }
                counter += 1
                // Every 100th id repeats the previous one.
                let id = "\(nodeID)-\(counter % 100 == 0 ? counter - 1 : counter)"
                node.reply(to: req) { w in
                    w.field("type", "generate_ok")
                    w.field("id", id)
                }
            }
        }
        let result = Runner(spec: spec).run()
        XCTAssertEqual(result.validity, .invalid)
        XCTAssertEqual(result.results["workload"]?["valid?"], false)
        XCTAssertGreaterThan(result.results["workload"]?["duplicated-count"]?.int ?? 0, 0)
        XCTAssertEqual(result.results["availability"]?["valid?"], true)
    }

    func testUniqueIDsWithMixedIDTypesHaveNoRange() {
        var spec = Challenge.uniqueIDs2.spec
        spec.timeLimit = 1
        spec.nemesis = []
        spec.handlerFactory = { nodeID in
            var counter = 0
            return ScriptedHandler { m, node in
                guard let req = m.request else { return }
                counter += 1
                let n = counter
                node.reply(to: req) { w in
                    w.field("type", "generate_ok")
                    if n % 2 == 0 { w.field("id", "\(nodeID)-\(n)") } else { w.field("id", n * 10 + Int(nodeID.dropFirst())!) }
                }
            }
        }
        let result = Runner(spec: spec).run()
        XCTAssertEqual(result.results["workload"]?["valid?"], ":unknown")
        XCTAssertEqual(result.validity, .unknown)
    }

    func testRejectedSetupRequestAbortsTheRun() {
        // A node that refuses `topology`: Maelstrom's setup would throw, so no load runs.
        var spec = Challenge.broadcast3b.spec
        spec.handlerFactory = { _ in
            ScriptedHandler { m, node in
                guard let req = m.request else { return }
                node.replyError(to: req, code: .notSupported, text: "no")
            }
        }
        let result = Runner(spec: spec).run()
        XCTAssertEqual(result.validity, .invalid)
        XCTAssertEqual(result.results["setup"]?["valid?"], false)
        XCTAssertEqual(result.results["setup"]?["errors"]?.array?.count, 5)
        XCTAssertTrue(result.history.isEmpty)
    }

    func testBroadcastThatDropsValuesIsInvalid() throws {
        var spec = Challenge.broadcast3b.spec
        spec.timeLimit = 10
        spec.handlerFactory = { _ in
            InterceptingHandler { m, node in
                // Acknowledge every 7th value without keeping it.
                guard m.type == "broadcast", m.isFromClient, let v = m.body["message"].int, v % 7 == 3,
                      let req = m.request else { return false }
                node.reply(to: req, type: "broadcast_ok")
                return true
            }
        }
        let result = Runner(spec: spec).run()
        XCTAssertEqual(result.validity, .invalid)
        let workload = try XCTUnwrap(result.results["workload"])
        XCTAssertEqual(workload["valid?"], false)
        let lost = workload["lost"]?.array?.compactMap(\.int) ?? []
        XCTAssertFalse(lost.isEmpty)
        XCTAssertTrue(lost.allSatisfy { $0 % 7 == 3 }, "only the dropped values are lost: \(lost)")
    }
}
