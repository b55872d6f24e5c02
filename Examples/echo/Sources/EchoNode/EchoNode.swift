import Maelstrom

/// Challenge 1: answer every `echo` with the value it carried.
public func echo(_ node: MaelstromNode) {
    node.on("echo") { req in
        let value = try req.require("echo")
        req.reply("echo_ok") { $0.field("echo", value) }
    }
}
