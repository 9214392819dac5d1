#!/usr/bin/env python3
"""Prints the bench table from bench/run's JSON and draws it with gnuplot.

    bench/report.py bench/results/bench-STAMP.json [--png FILE]

Ratios are against the reference forwarder pair (refwd). Standard library
only; the chart needs gnuplot (bench/run installs gnuplot-nox).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

PORTHOP = ["porthop", "porthop-nooffload", "porthop-session"]
# bench/run --base: each porthop subject's "base-" twin (the binary before a change) comes just before it.
ORDER = ["kernel", "refwd", "refwd-u", "refwd-c", "refwd-uc", "socat"] + [t for s in PORTHOP for t in ("base-" + s, s)]
LABEL = {"kernel": "kernel path", "refwd": "reference fwd", "socat": "socat pair", "porthop": "porthop plain", "porthop-session": "porthop session",
         "porthop-nooffload": "porthop no-offl",
         "refwd-u": "ref +unconn", "refwd-c": "ref +cmsgs", "refwd-uc": "ref +unconn+cm"}
LABEL.update({"base-" + s: LABEL[s].replace("porthop", "base", 1) for s in PORTHOP})


def fmt(v, spec="{:.0f}", none="-"):
    return none if v is None else spec.format(v)


def added(r, base):
    """The round trip a subject adds (p50, p99), µs: measured per round when the run did so."""
    if r["subject"] == "kernel":
        return None, None
    if r.get("added_p50_us") is not None:
        return r["added_p50_us"], r["added_p99_us"]
    if not base:
        return None, None
    return r["p50_us"] - base["p50_us"], r["p99_us"] - base["p99_us"]


def main():
    args = sys.argv[1:]
    png = None
    if "--png" in args:
        i = args.index("--png")
        png = args[i + 1]
        del args[i : i + 2]
    doc = json.load(open(args[0]))
    res = doc["results"]
    thr = {(r["subject"], r["size"]): r for r in res if r["kind"] == "throughput"}
    ins = {r["subject"]: r for r in res if r["kind"] == "instructions"}
    cpu = {(r["subject"], r["size"]): r for r in res if r["kind"] == "cpu_fixed"}
    fixed_rate = next((r["rate"] for r in cpu.values()), None)
    lat = {(r["subject"], r["load"]): r for r in res if r["kind"] == "latency"}
    scale = [r for r in res if r["kind"] == "scale"]
    subjects = [s for s in ORDER if any(k[0] == s for k in thr)]
    sizes = sorted({k[1] for k in thr})

    print()
    print(f"porthop bench {doc['stamp']}  ({doc['host']}, {doc['cores']} cores, load at end {doc['loadavg_at_end']}, "
          f"{doc['trial_seconds']} s trials, median of {doc['repeat']} search(es), {doc['bench_seconds']} s in all)")
    print("Loss-free rate: highest rate with < 0.1 % loss. CPU: utime+stime (system calls and the softirq work they")
    print(f"carry included) of both relay processes per million datagrams at a common {fixed_rate} pps. RSS: both relays.")
    print("instr/pkt: callgrind, user space only, both relays, 64 B at 4k pps (one datagram per wake-up).")
    print()
    head = f"{'subject':<15}"
    for sz in sizes:
        head += f"| {sz:>4} B: {'pps':>9} {'Mbit/s':>7} {'x ref':>6} {'CPU s/Mpkt':>11} "
    head += f"| {'RSS MiB':>8} | {'instr/pkt':>9} {'x ref':>6}"
    print(head)
    print("-" * len(head))
    for s in subjects:
        line = f"{LABEL[s]:<15}"
        for sz in sizes:
            r = thr.get((s, sz))
            ref = thr.get(("refwd", sz))
            if not r:
                line += "| " + " " * 44
                continue
            ratio = r["pps"] / ref["pps"] if ref and ref["pps"] else None
            c = cpu.get((s, sz))
            cpu_v = None
            if c and c.get("cpu_s_per_mpkt_rc") is not None:
                cpu_v = c["cpu_s_per_mpkt_rc"] + c["cpu_s_per_mpkt_rs"]
            pps = f"{r['pps']}{'+' if r.get('generator_limited') else ''}"
            line += (f"| {'':>6}  {pps:>9} {r['mbps']:>7.1f} {fmt(ratio, '{:.2f}'):>6} "
                     f"{fmt(cpu_v, '{:.2f}'):>11} ")
        r = thr.get((s, sizes[0]))
        rss = (r["rss_kb_rc"] + r["rss_kb_rs"]) / 1024 if r and s != "kernel" else None
        i = ins.get(s)
        ipp = i["ipp_rc"] + i["ipp_rs"] if i else None
        iref = ins.get("refwd")
        iratio = ipp / (iref["ipp_rc"] + iref["ipp_rs"]) if ipp and iref else None
        line += f"| {fmt(rss, '{:.1f}'):>8} | {fmt(ipp, '{:.0f}'):>9} {fmt(iratio, '{:.2f}'):>6}"
        print(line)
    if any(r.get("generator_limited") for r in thr.values()):
        print("  (+: the generator could not send faster; the relay's limit is at least this)")

    if lat:
        print()
        rounds = max((len(r.get("repeats", [])) for r in lat.values() if r["load"] == "light"), default=0)
        print("Round trip through the pair to an echo behind the server relay (64 B), µs; added = minus the")
        print(f"direct (kernel path) round trip at the same rate. Light: median of {rounds} rounds, the subjects taking")
        print("turns; added per round against that round's kernel path; x ref = added / the reference pair's (p50 / p99);")
        print("paired = the median over the rounds of (subject - reference pair) within a round (p50 / p99), µs.")
        print(f"{'subject':<15}| {'load':<16} {'p50':>7} {'p99':>7} {'max':>8} | {'added p50':>9} {'added p99':>9} | echoes")
        base_light = lat.get(("kernel", "light"))
        for s in subjects:
            for load in ("light", "heavy"):
                r = lat.get((s, load))
                if not r:
                    continue
                add50, add99 = added(r, base_light if load == "light" else lat.get(("kernel", "heavy:" + s)))
                ratio = ""
                ref = lat.get(("refwd", "light"))
                if load == "light" and ref and s not in ("kernel", "refwd"):
                    r50, r99 = added(ref, base_light)
                    ratio = (f"  x ref {fmt(add50 / r50 if add50 is not None and r50 else None, '{:.2f}')}"
                             f" / {fmt(add99 / r99 if add99 is not None and r99 else None, '{:.2f}')}")
                    if r.get("vs_ref_p50_us") is not None:
                        ratio += (f"; paired {fmt(r['vs_ref_p50_us'], '{:+.0f}')}"
                                  f" / {fmt(r.get('vs_ref_p99_us'), '{:+.0f}')}")
                desc = f"{load} {r['rate']:.0f} pps"
                print(f"{LABEL[s]:<15}| {desc:<16} {r['p50_us']:>7.0f} {r['p99_us']:>7.0f} {r['max_us']:>8.0f} | "
                      f"{fmt(add50, '{:+.0f}'):>9} {fmt(add99, '{:+.0f}'):>9} | {r['echoes']}/{r['sent']}{ratio}")
    for sc in scale:
        print()
        print(f"Session scale (porthop plain): {sc['sessions']} sessions x {sc['pps_each']} pps held for {sc['seconds']} s: "
              f"sent {sc['sent']}, received {sc['received']} (loss {sc['loss'] * 100:.3f} %), "
              f"{sc['flows_at_sink']} flows reached the sink")
        o = sc.get("opening")
        if o:
            print(f"  opening (one datagram per new session, at the same rate): {o['received']} of {o['sent']} through, "
                  f"all through after {o['ms_until_all_through']} ms; receive-buffer overflows {o['rcvbuf_errors']}")
        print(f"  user space per session: client {sc['user_bytes_per_session_rc']:.0f} B, "
              f"server {sc['user_bytes_per_session_rs']:.0f} B (RSS delta / sessions; RSS "
              f"{sc['rss_kb_rc'][1] / 1024:.1f} + {sc['rss_kb_rs'][1] / 1024:.1f} MiB)")
        print(f"  kernel per session: socket buffers in use (ss -m) client {sc['kernel_skmem_bytes_per_session_rc']:.0f} B, "
              f"server {sc['kernel_skmem_bytes_per_session_rs']:.0f} B; socket/inode/file slabs for the pair "
              f"{sc['kernel_slab_bytes_per_session_pair']:.0f} B (global, approximate)")
        print(f"  drops counted by porthop: client {sc.get('drops_rc', {})}, server {sc.get('drops_rs', {})}; "
              f"kernel receive-buffer overflows {sc.get('rcvbuf_errors', {})}")
        print(f"  descriptors: client {sc['fds_rc']} of {sc['nofile_rc']}, server {sc['fds_rs']} of {sc['nofile_rs']} "
              f"(RLIMIT_NOFILE as raised by porthop); CPU {sc['cpu_s']:.2f} s for the pair")

    workers = [r for r in res if r["kind"] == "workers"]
    if workers:
        print()
        print(f"Server relay alone (--workers), {workers[0]['clients']} clients (one IP each), 64 B; saturation: "
              "the clients send as fast as they can (the generator shares the cores); fixed: at "
              f"{max(r['target_pps'] for r in workers):,.0f} pps:")
        print(f"  {'load':<10} {'workers':>7} {'delivered pps':>14} {'loss':>7} {'CPU s':>6} {'CPU s/Mpkt':>10}  "
              "threads' CPU s (busiest first)   rcvbuf overflows")
        for r in workers:
            per_mpkt = r["cpu_s_per_mpkt"]
            print(f"  {r.get('load', '-'):<10} {r['workers']:>7} {r['delivered_pps']:>14,.0f} {r['loss'] * 100:>6.1f}% "
                  f"{r['cpu_s']:>6.2f} {fmt(per_mpkt, '{:.2f}'):>10}  "
                  f"{' '.join(f'{t:.2f}' for t in r['thread_cpu_s'] if t > 0):<30}  {r.get('rcvbuf_errors', {})}")

    micro = [r for r in res if r["kind"] == "micro"]
    if micro:
        print()
        print("Micro-benchmarks (Google Benchmark, median of 3, CPU time per iteration; manual_time: the time it measured):")
        for r in micro:
            extra = f"  ({r['items_per_second'] / 1e6:.1f} M items/s)" if r.get("items_per_second") else ""
            # A benchmark timed by hand (it sleeps between iterations): its
            # own measurement is the real time, the CPU time counts the sleep's.
            ns = r["real_ns"] if r["name"].endswith("/manual_time") else r["cpu_ns"]
            print(f"  {r['name']:<40} {ns:>12.1f} ns{extra}")

    if png and subjects and shutil.which("gnuplot"):
        draw(png, subjects, sizes, thr, lat, doc)
    elif png and subjects:
        print("report: gnuplot not found, no chart", file=sys.stderr)


# Chart tick labels: short enough not to run into each other.
TICK = {"porthop-nooffload": "no-offload", "porthop-session": "session"}


def draw(png, subjects, sizes, thr, lat, doc):
    with tempfile.TemporaryDirectory() as d:
        tput = os.path.join(d, "tput.dat")
        with open(tput, "w") as f:
            for s in subjects:
                vals = [str(thr[(s, sz)]["pps"] / 1000 if (s, sz) in thr else 0) for sz in sizes]
                f.write(f"\"{TICK.get(s, s)}\" " + " ".join(vals) + "\n")
        latf = os.path.join(d, "lat.dat")
        with open(latf, "w") as f:
            for s in subjects:
                r = lat.get((s, "light"))
                if r:
                    f.write(f"\"{TICK.get(s, s)}\" {r['p50_us']} {r['p99_us']}\n")
        lat_rows = sum(1 for s in subjects if lat.get((s, "light")))
        lat_plot = (f"set title 'Round trip at 1k pps, 64 B'\nset ylabel 'µs'\n"
                    f"plot '{latf}' using 2:xtic(1) title 'p50', '' using 3 title 'p99'") if lat_rows else ""
        cols = " , ".join(
            f"'{tput}' using {i + 2}:xtic(1) title '{sz} B'" for i, sz in enumerate(sizes))
        script = f"""
set terminal pngcairo size 1200,500 font ',10'
set output '{png}'
set multiplot layout 1,{2 if lat_rows else 1} title 'porthop bench {doc["stamp"]} ({doc["cores"]} cores)'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set key top right
set title 'Loss-free rate (< 0.1 % loss)'
set ylabel 'kpps'
set yrange [0:*]
plot {cols}
{lat_plot}
unset multiplot
"""
        p = os.path.join(d, "plot.gp")
        open(p, "w").write(script)
        r = subprocess.run(["gnuplot", p], capture_output=True, text=True)
        if r.returncode != 0:
            print("report: gnuplot failed: " + r.stderr.strip(), file=sys.stderr)


if __name__ == "__main__":
    main()
