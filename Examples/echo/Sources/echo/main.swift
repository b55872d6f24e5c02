import EchoNode
import Maelstrom

MaelstromNode.run(echo)
