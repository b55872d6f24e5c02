import BroadcastNode
import Maelstrom

MaelstromNode.run(broadcast)
