#!/usr/bin/env python3
"""`vkmoe bench -m MODEL -p P -n N -r R --json` prints a ppP and a tgN row with positive rates.

    bench_json_check.py --vkmoe BIN --model DIR [-p 8] [-n 4] [-r 2]
"""
import argparse
import json
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vkmoe", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("-p", type=int, default=8)
    ap.add_argument("-n", type=int, default=4)
    ap.add_argument("-r", type=int, default=2)
    a = ap.parse_args()
    cmd = [a.vkmoe, "bench", "-m", a.model, "-p", str(a.p), "-n", str(a.n), "-r", str(a.r),
           "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(done.stdout + done.stderr)
    if done.returncode != 0:
        print("failed (exit %d): %s" % (done.returncode, " ".join(cmd)))
        return 1
    rows = {row["test"]: row for row in json.loads(done.stdout)}
    ok = True
    for name, n_prompt, n_gen in (("pp%d" % a.p, a.p, 0), ("tg%d" % a.n, 0, a.n)):
        row = rows.get(name)
        if row is None:
            print("no %s row" % name)
            ok = False
            continue
        samples = row["samples_ts"]
        if (row["n_prompt"], row["n_gen"]) != (n_prompt, n_gen) or len(samples) != a.r or \
                not row["avg_ts"] > 0 or not all(s > 0 for s in samples) or \
                not row["stddev_ts"] >= 0:
            print("bad %s row: %s" % (name, row))
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
