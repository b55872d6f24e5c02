#!/usr/bin/env python3
"""Writes benchmark input streams in Maelstrom's wire shape (one JSON object per line).

  gen.py init                     init only (start-up time, callgrind baseline)
  gen.py echo N                   init + N echo requests from c1
  gen.py broadcast N              1-node cluster: init, topology, N broadcasts, a read after every 100
  gen.py broadcast-init           init + topology only (callgrind baseline of the broadcast stream)
  gen.py broadcast-peers N        5-node cluster seen from n0: client broadcasts and reads mixed with
                                  messages from peers n1..n4 (their own broadcasts and replies to n0)

Broadcast values cycle through 0..999 so that a read's reply stays bounded (Maelstrom's values are
unique, but then every read would return everything so far and the stream would grow as N squared).
"""
import sys

INIT_1 = ('{"id":0,"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,'
          '"node_id":"n0","node_ids":["n0"]}}\n')
INIT_5 = ('{"id":0,"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,'
          '"node_id":"n0","node_ids":["n0","n1","n2","n3","n4"]}}\n')
TOPOLOGY_1 = '{"id":1,"src":"c0","dest":"n0","body":{"type":"topology","msg_id":2,"topology":{"n0":[]}}}\n'
TOPOLOGY_5 = ('{"id":1,"src":"c0","dest":"n0","body":{"type":"topology","msg_id":2,"topology":'
              '{"n0":["n1","n2"],"n1":["n0","n3"],"n2":["n0","n4"],"n3":["n1"],"n4":["n2"]}}}\n')


def echo(n, out):
    out.write(INIT_1)
    chunk = []
    for k in range(1, n + 1):
        chunk.append(f'{{"id":{k},"src":"c1","dest":"n0","body":{{"type":"echo","msg_id":{k},'
                     f'"echo":"Please echo 35"}}}}\n')
        if len(chunk) == 10000:
            out.write("".join(chunk)); chunk.clear()
    out.write("".join(chunk))


def broadcast(n, out):
    out.write(INIT_1)
    out.write(TOPOLOGY_1)
    msg_id, chunk = 2, []
    for i in range(1, n + 1):
        msg_id += 1
        chunk.append(f'{{"id":{msg_id},"src":"c1","dest":"n0","body":{{"type":"broadcast",'
                     f'"msg_id":{msg_id},"message":{i % 1000}}}}}\n')
        if i % 100 == 0:
            msg_id += 1
            chunk.append(f'{{"id":{msg_id},"src":"c1","dest":"n0","body":{{"type":"read","msg_id":{msg_id}}}}}\n')
        if len(chunk) >= 10000:
            out.write("".join(chunk)); chunk.clear()
    out.write("".join(chunk))


def broadcast_peers(n, out):
    """What n0 of a 5-node cluster sees: client traffic plus its peers' gossip (a few shapes a
    broadcast implementation may use) and replies to n0's own requests (msg_ids 1..), some of them
    for ids n0 never sent."""
    out.write(INIT_5)
    out.write(TOPOLOGY_5)
    peers = ["n1", "n2", "n3", "n4"]
    msg_id = 2
    for i in range(1, n + 1):
        msg_id += 1
        out.write(f'{{"id":{msg_id},"src":"c1","dest":"n0","body":{{"type":"broadcast","msg_id":{msg_id},'
                  f'"message":{i}}}}}\n')
        p = peers[i % 4]
        out.write(f'{{"id":{msg_id}0,"src":"{p}","dest":"n0","body":{{"type":"broadcast","msg_id":{i},'
                  f'"message":{1000000 + i}}}}}\n')
        if i % 3 == 0:
            out.write(f'{{"src":"{p}","dest":"n0","body":{{"type":"broadcast_ok","in_reply_to":{i}}}}}\n')
        if i % 5 == 0:
            out.write(f'{{"src":"{p}","dest":"n0","body":{{"type":"bc_sync","msg_id":{i},'
                      f'"messages":[{i},{i + 1},{2000000 + i}]}}}}\n')
            out.write(f'{{"src":"{p}","dest":"n0","body":{{"type":"bc_sync_ok","in_reply_to":{i}}}}}\n')
        if i % 10 == 0:
            msg_id += 1
            out.write(f'{{"id":{msg_id},"src":"c2","dest":"n0","body":{{"type":"read","msg_id":{msg_id}}}}}\n')


def main():
    args = sys.argv[1:]
    out = sys.stdout
    if args == ["init"]:
        out.write(INIT_1)
    elif args == ["broadcast-init"]:
        out.write(INIT_1); out.write(TOPOLOGY_1)
    elif len(args) == 2 and args[0] == "echo":
        echo(int(args[1]), out)
    elif len(args) == 2 and args[0] == "broadcast":
        broadcast(int(args[1]), out)
    elif len(args) == 2 and args[0] == "broadcast-peers":
        broadcast_peers(int(args[1]), out)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
