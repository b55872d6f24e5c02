#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EVCore
import EVLoop
import Logging

extension MaelstromNode {
    /// A process's whole `main`: builds the node with `setup` and serves Maelstrom on
    /// stdin/stdout until stdin closes. Logs go to stderr (level from `MAELSTROM_LOG_LEVEL`,
    /// default info).
    public static func run(_ setup: (MaelstromNode) -> Void) -> Never {
        MaelstromNode(setup).run()
    }

    /// Serves Maelstrom on stdin/stdout with this node until stdin closes, then exits.
    public func run() -> Never {
        let level = getenv("MAELSTROM_LOG_LEVEL").flatMap { Logger.Level(rawValue: String(cString: $0)) } ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let loop = EventLoop(maxLineBytes: 1 << 20, logger: Logger(label: "maelstrom"))
        loop.node = Node(transport: loop, handler: self, logger: Logger(label: "maelstrom"))
        loop.run()
        exit(0)
    }
}
