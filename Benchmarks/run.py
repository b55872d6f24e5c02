#!/usr/bin/env python3
"""evnode against the C floor, side by side. Run through Benchmarks/run.sh, which builds the binaries.

Measures, for evnode (release build) and Benchmarks/floor/floor.c on the same libev + jansson:
  * throughput through a pipe, every reply verified (tools/pipebench), echo and broadcast streams,
    as wall-clock msgs/s and as msgs per second of the node's own CPU time (steadier when shared);
  * peak RSS (getrusage of the child) and RSS at each tenth of the input (/proc/PID/status);
  * start-up time: process start, init, init_ok, exit on end of input (hyperfine);
  * closed-loop round trips with one request in flight (tools/rtt), free and both on one CPU;
  * valgrind callgrind instructions per message: (Ir(init + N) - Ir(init only)) / N.
Wall-clock figures are medians of interleaved repetitions (evnode and floor alternate, the
order flipping every repetition). Raw rows go to results/perf/*.tsv, the table to stdout and
results/perf/summary.md.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def generate(work, name, *args):
    path = os.path.join(work, name + ".jsonl")
    generator = os.path.join(HERE, "gen.py")
    if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(generator):
        with open(path, "w") as f:
            subprocess.run([sys.executable, generator, *args], stdout=f, check=True)
    return path


def count_lines(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


class TSV:
    def __init__(self, path, header):
        self.f = open(path, "w")
        self.f.write("\t".join(header) + "\n")

    def row(self, *cells):
        self.f.write("\t".join(str(c) for c in cells) + "\n")
        self.f.flush()


def pipebench(tools, mode, path, cmd):
    out = subprocess.run([os.path.join(tools, "pipebench"), mode, path, "--", *cmd],
                         text=True, capture_output=True).stdout.strip()
    requests, seconds, rate, cpu, peak, samples, verdict = out.split("\t")
    return dict(requests=int(requests), seconds=float(seconds), rate=float(rate), cpu=float(cpu),
                cpu_rate=int(requests) / max(float(cpu), 1e-9), peak_kib=int(peak), samples=samples, verdict=verdict)


def rtt(tools, count, warmup, cmd, pinned):
    prefix = ["taskset", "-c", "0"] if pinned else []
    out = subprocess.run([*prefix, os.path.join(tools, "rtt"), str(count), str(warmup), "--", *cmd],
                         text=True, capture_output=True).stdout.strip()
    n, p50, p99, mean, mx, verdict = out.split("\t")
    return dict(p50=float(p50), p99=float(p99), mean=float(mean), max=float(mx), verdict=verdict)


def callgrind_ir(cmd, path, work, label):
    out_file = os.path.join(work, f"callgrind.{label}.out")
    with open(path) as stdin:
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", *cmd],
                       stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    with open(out_file) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1]), out_file
    raise RuntimeError("no callgrind summary in " + out_file)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--evnode", required=True)
    ap.add_argument("--floor", required=True)
    ap.add_argument("--tools", required=True, help="directory with pipebench and rtt")
    ap.add_argument("--work", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "evnode-bench"))
    ap.add_argument("--out", default=os.path.join(ROOT, "results", "perf"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--sizes", default="200000,1000000", help="stream lengths (requests after init)")
    ap.add_argument("--callgrind-n", type=int, default=20000)
    ap.add_argument("--rtt-count", type=int, default=20000)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    programs = {"evnode": [args.evnode], "floor": [args.floor]}
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], text=True,
                            capture_output=True).stdout.strip() or "?"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    print(f"# evnode vs C floor — {stamp}, commit {commit} (+ working tree), {os.cpu_count()} CPUs, "
          f"{args.reps} repetitions", flush=True)

    inputs = {("echo", n): generate(args.work, f"echo-{n}", "echo", str(n)) for n in sizes}
    inputs.update({("broadcast", n): generate(args.work, f"broadcast-{n}", "broadcast", str(n)) for n in sizes})
    init_only = generate(args.work, "init", "init")

    # ---- callgrind (deterministic, run once) ----
    cg = TSV(os.path.join(args.out, "callgrind.tsv"),
             ["date", "commit", "program", "stream", "n", "ir_baseline", "ir_total", "instr_per_msg"])
    cg_n = args.callgrind_n
    cg_inputs = {
        "echo": (generate(args.work, f"echo-{cg_n}", "echo", str(cg_n)), init_only, cg_n),
        "broadcast": (generate(args.work, f"broadcast-{cg_n}", "broadcast", str(cg_n)),
                      generate(args.work, "broadcast-init", "broadcast-init"), cg_n + cg_n // 100),
    }
    instr = {}
    for stream, (path, base_path, n) in cg_inputs.items():
        for name, cmd in programs.items():
            if stream == "broadcast" and name == "floor":
                continue
            base, _ = callgrind_ir(cmd, base_path, args.work, f"{name}.{stream}.base")
            total, profile = callgrind_ir(cmd, path, args.work, f"{name}.{stream}.{n}")
            # The profile's top functions, kept next to the figures (docs/perf.md reads them).
            top = subprocess.run(["callgrind_annotate", profile], text=True, capture_output=True).stdout
            with open(os.path.join(args.out, f"callgrind-{name}-{stream}.txt"), "w") as f:
                f.write("\n".join(top.splitlines()[:60]) + "\n")
            instr[(name, stream)] = (total - base) / n
            cg.row(stamp, commit, name, stream, n, base, total, f"{instr[(name, stream)]:.0f}")
            print(f"callgrind {name:6} {stream:9}: {instr[(name, stream)]:8.0f} instructions/message", flush=True)

    # ---- start-up ----
    startup = {}
    hf_json = os.path.join(args.work, "hyperfine.json")
    if shutil.which("hyperfine"):
        cmds = [f"{cmd[0]} < {init_only} > /dev/null 2>&1" for cmd in programs.values()]
        subprocess.run(["hyperfine", "--style=none", "--warmup", "5", "--runs", "100",
                        "--export-json", hf_json, *cmds], check=True, capture_output=True)
        with open(hf_json) as f:
            results = json.load(f)["results"]
        st = TSV(os.path.join(args.out, "startup.tsv"), ["date", "commit", "program", "mean_ms", "median_ms", "stddev_ms", "runs"])
        for name, r in zip(programs, results):
            startup[name] = r["median"] * 1000
            st.row(stamp, commit, name, f"{r['mean'] * 1000:.2f}", f"{r['median'] * 1000:.2f}",
                   f"{r['stddev'] * 1000:.2f}", len(r["times"]))
        print(f"start-up: evnode {startup['evnode']:.2f} ms, floor {startup['floor']:.2f} ms", flush=True)

    # ---- throughput, RSS, round trips: interleaved repetitions ----
    tp = TSV(os.path.join(args.out, "throughput.tsv"),
             ["date", "commit", "rep", "program", "stream", "requests", "seconds", "msgs_per_s", "node_cpu_s",
              "msgs_per_node_cpu_s", "peak_rss_kib", "rss_kib_at_each_tenth", "verified"])
    rt = TSV(os.path.join(args.out, "rtt.tsv"),
             ["date", "commit", "rep", "program", "pinned_one_cpu", "count", "p50_us", "p99_us", "mean_us", "max_us", "verified"])
    rates, cpu_rates, peaks, rss_series, rtts, failures = {}, {}, {}, {}, {}, []
    for rep in range(args.reps):
        order = list(programs) if rep % 2 == 0 else list(reversed(programs))
        for stream in ("echo", "broadcast"):
            for n in sizes:
                for name in order:
                    if stream == "broadcast" and name == "floor":
                        continue
                    r = pipebench(args.tools, stream, inputs[(stream, n)], programs[name])
                    tp.row(stamp, commit, rep, name, stream, r["requests"], r["seconds"], f"{r['rate']:.0f}",
                           r["cpu"], f"{r['cpu_rate']:.0f}", r["peak_kib"], r["samples"], r["verdict"])
                    rates.setdefault((name, stream, n), []).append(r["rate"])
                    cpu_rates.setdefault((name, stream, n), []).append(r["cpu_rate"])
                    peaks.setdefault((name, stream, n), []).append(r["peak_kib"])
                    rss_series[(name, stream, n)] = r["samples"]
                    if not r["verdict"].startswith("ok"):
                        failures.append(f"{name} {stream} {n}: {r['verdict']}")
        for pinned in (False, True):
            for name in order:
                r = rtt(args.tools, args.rtt_count, 1000, programs[name], pinned)
                rt.row(stamp, commit, rep, name, int(pinned), args.rtt_count, r["p50"], r["p99"], r["mean"], r["max"], r["verdict"])
                rtts.setdefault((name, pinned), []).append(r)
                if r["verdict"] != "ok":
                    failures.append(f"{name} rtt: {r['verdict']}")
        print(f"repetition {rep + 1}/{args.reps} done", flush=True)

    # ---- table ----
    def ratio(a, b):
        return f"{a / b:.2f}×" if b else "–"

    lines = []
    lines.append(f"Run {stamp}, commit {commit} (+ working tree), {args.reps} interleaved repetitions, medians; "
                 f"callgrind on {cg_n} messages.\n")
    lines.append("| figure | evnode | C floor | evnode / floor | target |")
    lines.append("|---|---:|---:|---:|---|")
    e, f = instr[("evnode", "echo")], instr[("floor", "echo")]
    lines.append(f"| instructions / echo (callgrind) | {e:,.0f} | {f:,.0f} | {ratio(e, f)} | ≤ 1.3× (stretch ≤ 1.0×) |")
    for n in sizes:
        e, f = median(rates[("evnode", "echo", n)]), median(rates[("floor", "echo", n)])
        lines.append(f"| echo msgs/s, {n:,} through a pipe | {e:,.0f} | {f:,.0f} | {ratio(e, f)} | ≥ 0.75× |")
    for n in sizes:
        e, f = median(cpu_rates[("evnode", "echo", n)]), median(cpu_rates[("floor", "echo", n)])
        lines.append(f"| echo msgs per node CPU-second, {n:,} | {e:,.0f} | {f:,.0f} | {ratio(e, f)} | |")
    for n in sizes:
        e, f = median(peaks[("evnode", "echo", n)]) / 1024, median(peaks[("floor", "echo", n)]) / 1024
        lines.append(f"| peak RSS, {n:,} echoes (MiB) | {e:.1f} | {f:.1f} | {ratio(e, f)} | ≤ 12 MiB, flat |")
    n = sizes[-1]
    lines.append(f"| RSS at each tenth of {n:,} echoes (KiB) | {rss_series[('evnode', 'echo', n)]} | "
                 f"{rss_series[('floor', 'echo', n)]} | | flat |")
    if startup:
        lines.append(f"| start-up: init → init_ok → exit (ms) | {startup['evnode']:.2f} | {startup['floor']:.2f} | "
                     f"{ratio(startup['evnode'], startup['floor'])} | |")
    for pinned in (False, True):
        label = "both on one CPU" if pinned else "free"
        for q in ("p50", "p99"):
            e = median([r[q] for r in rtts[("evnode", pinned)]])
            f = median([r[q] for r in rtts[("floor", pinned)]])
            target = "≤ 1.3×" if pinned and q == "p50" else ""
            lines.append(f"| round trip {q} (µs), {label} | {e:.1f} | {f:.1f} | {ratio(e, f)} | {target} |")
    lines.append("")
    lines.append("| broadcast stream (evnode only) | figure |")
    lines.append("|---|---:|")
    lines.append(f"| instructions / message (callgrind) | {instr[('evnode', 'broadcast')]:,.0f} |")
    for n in sizes:
        lines.append(f"| msgs/s, {n:,} broadcasts + a read every 100 | {median(rates[('evnode', 'broadcast', n)]):,.0f} |")
        lines.append(f"| msgs per node CPU-second, {n:,} broadcasts | {median(cpu_rates[('evnode', 'broadcast', n)]):,.0f} |")
        lines.append(f"| peak RSS, {n:,} broadcasts (MiB) | {median(peaks[('evnode', 'broadcast', n)]) / 1024:.1f} |")
    lines.append("")
    lines.append("Verification: " + ("every reply of every run checked: ok" if not failures else
                                     "FAILURES: " + "; ".join(failures)))
    table = "\n".join(lines)
    print()
    print(table)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(table + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
