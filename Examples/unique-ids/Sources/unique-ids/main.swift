import UniqueIDsNode
import Maelstrom

MaelstromNode.run(uniqueIDs)
