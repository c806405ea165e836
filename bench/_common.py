"""Shared by the benchmarks: timing, the result rows, the table, --json output."""
import argparse
import json
import os
import statistics
import sys
import time


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    p.add_argument("--quick", action="store_true", help="fewer repetitions / less data")
    return p


def per_call(fn, min_time=0.2, repeat=5):
    """Median seconds per call of fn() over `repeat` rounds of at least min_time each."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time / 4 or n >= 1 << 20:
            break
        n *= 2
    n = max(1, int(n * (min_time / 4) / max(dt, 1e-9)))
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples)


def row(name, flambeau_s, torch_s, unit="s", note=""):
    """One benchmark result. ratio = flambeau / torch (lower is better for times)."""
    ratio = flambeau_s / torch_s if torch_s else float("nan")
    return {"name": name, "flambeau": flambeau_s, "torch": torch_s, "unit": unit, "ratio": ratio, "note": note}


def fmt(v, unit):
    if unit == "s":
        if v >= 1:
            return f"{v:.2f} s"
        if v >= 1e-3:
            return f"{v * 1e3:.2f} ms"
        return f"{v * 1e6:.1f} us"
    if unit == "MB":
        return f"{v:.1f} MB"
    return f"{v:.0f} {unit}" if v >= 100 else f"{v:.4g} {unit}"


def table(rows, out=sys.stdout):
    w = max([len(r["name"]) for r in rows] + [9])
    print(f"{'benchmark':<{w}}  {'flambeau':>12}  {'pytorch':>12}  {'ratio':>6}", file=out)
    print("-" * (w + 38), file=out)
    for r in rows:
        print(f"{r['name']:<{w}}  {fmt(r['flambeau'], r['unit']):>12}  {fmt(r['torch'], r['unit']):>12}  "
              f"{r['ratio']:>6.2f}" + (f"  {r['note']}" if r.get("note") else ""), file=out)


def emit(rows, args):
    table(rows)
    if getattr(args, "json", None):
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "machine": machine()}, f, indent=1)


def machine():
    import platform
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version(), "date": time.strftime("%Y-%m-%d")}
