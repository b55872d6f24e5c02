#!/usr/bin/env python3
"""Writes benchmark input streams in Maelstrom's wire shape (one JSON object per line).

  gen.py init                     init only (start-up time, callgrind baseline)
  gen.py echo N                   init + N echo requests from c1
  gen.py broadcast N              1-node cluster: init, topology, N broadcasts, a read after every 100
  gen.py broadcast-init           init + topology and its start record only (callgrind baseline)
  gen.py broadcast-peers N        5-node cluster seen from n0 (the hub): client broadcasts and reads
                                  mixed with its peers' bc_data / bc_ack traffic (memcheck input)

Broadcast values cycle through 0..999 so that a read's reply stays bounded (Maelstrom's values are
unique, but then every read would return everything so far and the stream would grow as N squared).
"""
import sys

INIT_1 = ('{"id":0,"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,'
          '"node_id":"n0","node_ids":["n0"]}}\n')
INIT_5 = ('{"id":0,"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,'
          '"node_id":"n0","node_ids":["n0","n1","n2","n3","n4"]}}\n')
TOPOLOGY_1 = '{"id":1,"src":"c0","dest":"n0","body":{"type":"topology","msg_id":2,"topology":{"n0":[]}}}\n'
# lin-kv's answer to the node's start record: broadcast keeps state, so it runs once its record is
# stored (docs/faults.md); the node's first RPC is that create, msg_id 1, sent on the topology.
RECORD_STORED = '{"src":"lin-kv","dest":"n0","body":{"type":"cas_ok","in_reply_to":1}}\n'
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
    out.write(RECORD_STORED)
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


# Every leaf of the recorded stream is one process (one incarnation) for the whole run.
PEER_INCARNATION = 1700000000000000


def broadcast_peers(n, out):
    """What n0, the hub of a 5-node cluster, sees: client broadcasts and reads mixed with its
    leaves' traffic (the Replicator's `bc_data` {from, v, ack, i} and `bc_ack` {ack, i}),
    including duplicates, a gap, acks for more than was sent and a few malformed peer messages."""
    out.write(INIT_5)
    out.write(TOPOLOGY_5)
    out.write(RECORD_STORED)
    peers = ["n1", "n2", "n3", "n4"]
    next_seq = {p: 0 for p in peers}
    msg_id = 2
    for i in range(1, n + 1):
        msg_id += 1
        out.write(f'{{"id":{msg_id},"src":"c1","dest":"n0","body":{{"type":"broadcast","msg_id":{msg_id},'
                  f'"message":{i}}}}}\n')
        p = peers[i % 4]
        seq = next_seq[p]
        if i % 97 == 0:
            seq += 5  # a gap: held back until the missing entries arrive (they never do here)
        elif i % 89 == 0:
            seq = max(0, seq - 1)  # a duplicate
        else:
            next_seq[p] += 1
        out.write(f'{{"src":"{p}","dest":"n0","body":{{"type":"bc_data","from":{seq},'
                  f'"v":[{1000000 + i}],"ack":{i // 8},"i":{PEER_INCARNATION}}}}}\n')
        if i % 7 == 0:
            out.write(f'{{"src":"{p}","dest":"n0","body":{{"type":"bc_ack","ack":{i // 4},"i":{PEER_INCARNATION}}}}}\n')
        if i % 501 == 0:
            out.write(f'{{"src":"{p}","dest":"n0","body":{{"type":"bc_data","from":"x","v":7,"i":{PEER_INCARNATION}}}}}\n')
        if i % 10 == 0:
            msg_id += 1
            out.write(f'{{"id":{msg_id},"src":"c2","dest":"n0","body":{{"type":"read","msg_id":{msg_id}}}}}\n')


def main():
    args = sys.argv[1:]
    out = sys.stdout
    if args == ["init"]:
        out.write(INIT_1)
    elif args == ["broadcast-init"]:
        out.write(INIT_1); out.write(TOPOLOGY_1); out.write(RECORD_STORED)
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
