import NaiveBroadcastNode
import Maelstrom

MaelstromNode.run(naiveBroadcast)
