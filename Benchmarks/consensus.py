#!/usr/bin/env python3
"""lin-kv and txn-list-append on real evnode processes: messages per op and latency beside evsim's.

A small stand-in for Maelstrom's network (Maelstrom itself needs a JVM): it starts the release
binary N times, delivers every line between the nodes at once (Maelstrom's default --latency 0),
serves the lin-kv service the start records use, and runs Maelstrom's client shape: `concurrency`
clients, each bound to one node, invoking operations at `rate` per second in all, each waiting
for its answer up to the client timeout (1 s for lin-kv, 5 s for txns). It checks no consistency
model (evsim does): it measures what the simulator cannot, real processes on a real clock.

    Benchmarks/consensus.py lin-kv [--nodes 3] [--rate 30] [--time 20] [--concurrency 12] [--runs 3]
    Benchmarks/consensus.py txn-list-append [--nodes 2] [--rate 100] [--time 10]

Prints one line per run: `:servers` msgs-per-op (node-node and node-service messages over invoked
operations), latency p50/p99 of answered operations (ok or a definite error), answered and ok
fractions, ok ops/s.
"""
import argparse
import json
import os
import random
import selectors
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFINITE = {20, 22}  # lin-kv's definite errors besides ok; txns: any error code below is indefinite


class Cluster:
    def __init__(self, binary, nodes, seed):
        self.ids = [f"n{i}" for i in range(nodes)]
        self.rng = random.Random(seed)
        self.sel = selectors.DefaultSelector()
        self.procs, self.buffers = {}, {}
        self.kv = {}
        self.server_msgs = 0
        self.waiting = {}  # (client, msg_id) -> callback
        self.msg_id = 0
        self.stderr = open(os.path.join("/tmp", f"consensus-bench-{os.getpid()}.log"), "w")
        for node in self.ids:
            p = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, bufsize=0)
            os.set_blocking(p.stdout.fileno(), False)
            self.procs[node], self.buffers[node] = p, b""
            self.sel.register(p.stdout, selectors.EVENT_READ, node)

    def write(self, dest, line):
        self.procs[dest].stdin.write(line.encode() + b"\n")

    def send(self, src, dest, body, callback=None):
        self.msg_id += 1
        body = dict(body, msg_id=self.msg_id)
        if callback:
            self.waiting[(src, self.msg_id)] = callback
        self.write(dest, json.dumps({"src": src, "dest": dest, "body": body}))
        return self.msg_id

    def lin_kv(self, msg):
        """Maelstrom's lin-kv service, for the nodes' start records."""
        b, reply = msg["body"], None
        key = json.dumps(b.get("key"))
        if b["type"] == "read":
            reply = {"type": "read_ok", "value": self.kv[key]} if key in self.kv else {"type": "error", "code": 20}
        elif b["type"] == "write":
            self.kv[key] = b["value"]
            reply = {"type": "write_ok"}
        elif b["type"] == "cas":
            if key not in self.kv and not b.get("create_if_not_exists"):
                reply = {"type": "error", "code": 20}
            elif key in self.kv and self.kv[key] != b["from"]:
                reply = {"type": "error", "code": 22}
            else:
                self.kv[key] = b["to"]
                reply = {"type": "cas_ok"}
        self.server_msgs += 1
        reply["in_reply_to"] = b["msg_id"]
        self.write(msg["src"], json.dumps({"src": "lin-kv", "dest": msg["src"], "body": reply}))

    def pump(self, timeout):
        for key, _ in self.sel.select(timeout):
            node = key.data
            chunk = os.read(key.fileobj.fileno(), 1 << 16)
            if not chunk:
                raise SystemExit(f"{node} exited; see {self.stderr.name}")
            self.buffers[node] += chunk
            *lines, self.buffers[node] = self.buffers[node].split(b"\n")
            for line in lines:
                msg = json.loads(line)
                dest = msg["dest"]
                if dest in self.procs:
                    self.server_msgs += 1
                    self.write(dest, line.decode())
                elif dest == "lin-kv":
                    self.server_msgs += 1
                    self.lin_kv(msg)
                else:
                    callback = self.waiting.pop((dest, msg["body"].get("in_reply_to")), None)
                    if callback:
                        callback(msg["body"])

    def close(self):
        for p in self.procs.values():
            p.stdin.close()
            p.wait(timeout=5)


def operation(workload, rng):
    if workload == "lin-kv":
        f = rng.choice(["read", "write", "cas"])
        key = rng.randrange(4)
        if f == "read":
            return {"type": "read", "key": key}
        if f == "write":
            return {"type": "write", "key": key, "value": rng.randrange(5)}
        return {"type": "cas", "key": key, "from": rng.randrange(5), "to": rng.randrange(5)}
    ops = []
    for _ in range(rng.randint(1, 4)):
        key = rng.randrange(8)
        ops.append(["r", key, None] if rng.random() < 0.5 else ["append", key, rng.randrange(1 << 30)])
    return {"type": "txn", "txn": ops}


def run(args, seed):
    c = Cluster(args.binary, args.nodes, seed)
    rng = random.Random(seed)
    inits = set()
    for node in c.ids:
        c.send("c0", node, {"type": "init", "node_id": node, "node_ids": c.ids}, lambda b, n=node: inits.add(n))
    deadline = time.monotonic() + 5
    while len(inits) < len(c.ids) and time.monotonic() < deadline:
        c.pump(0.05)
    if len(inits) < len(c.ids):
        raise SystemExit("init_ok missing")
    timeout = 1.0 if args.workload == "lin-kv" else 5.0
    results = []  # (latency s or None, outcome)
    busy = [False] * args.concurrency
    pending = {}
    start = time.monotonic()
    next_invoke = start
    client_ids = [f"c{i + 1}" for i in range(args.concurrency)]
    while True:
        now = time.monotonic()
        if now - start >= args.time and not any(busy):
            break
        if now >= next_invoke and now - start < args.time:
            free = [i for i in range(args.concurrency) if not busy[i]]
            if free:
                i = rng.choice(free)
                busy[i] = True
                invoked = now

                def done(body, i=i, invoked=invoked):
                    if not busy[i] or pending.get(i) != invoked:
                        return
                    busy[i] = False
                    pending.pop(i, None)
                    latency = time.monotonic() - invoked
                    if body["type"] == "error":
                        definite = body["code"] in DEFINITE if args.workload == "lin-kv" else body["code"] in (11, 14, 20, 22, 30)
                        results.append((latency, "fail" if definite else "info"))
                    else:
                        results.append((latency, "ok"))
                pending[i] = invoked
                c.send(client_ids[i], c.ids[i % len(c.ids)], operation(args.workload, rng), done)
            next_invoke += rng.expovariate(args.rate)
        for i, invoked in list(pending.items()):
            if now - invoked > timeout:
                busy[i] = False
                del pending[i]
                results.append((None, "info"))
        c.pump(max(0.0, min(next_invoke - time.monotonic(), 0.005)))
    c.close()
    answered = sorted(l for l, o in results if o in ("ok", "fail"))
    ok = sum(1 for _, o in results if o == "ok")
    q = lambda p: answered[min(len(answered) - 1, int(len(answered) * p))] * 1000 if answered else float("nan")
    n = max(len(results), 1)
    print(f"{args.workload} seed {seed}: ops {len(results)} servers-msgs-per-op {c.server_msgs / n:.3f} "
          f"latency p50 {q(0.5):.1f} ms p99 {q(0.99):.1f} ms answered {len(answered) / n:.3f} "
          f"ok-fraction {ok / n:.3f} ok/s {ok / args.time:.1f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workload", choices=["lin-kv", "txn-list-append"])
    ap.add_argument("--nodes", type=int)
    ap.add_argument("--rate", type=float)
    ap.add_argument("--time", type=float)
    ap.add_argument("--concurrency", type=int)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "evnode"))
    args = ap.parse_args()
    linkv = args.workload == "lin-kv"
    args.nodes = args.nodes or (3 if linkv else 2)
    args.rate = args.rate or (30 if linkv else 100)
    args.time = args.time or (20 if linkv else 10)
    args.concurrency = args.concurrency or (4 * args.nodes if linkv else args.nodes)
    for r in range(args.runs):
        run(args, args.seed + r)


if __name__ == "__main__":
    main()
