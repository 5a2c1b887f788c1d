#!/usr/bin/env python3
"""Prints one line of a batch benchmark run: the job's --json summary and its
/usr/bin/time -v report. Used by bench-batch.sh and bench-batch-s3.sh.

  bench-report.py SUMMARY.json TIME.txt RATE_OF LABEL...
RATE_OF is "lines" or "objects" (what the rate counts); LABEL words lead the
line; LOAD (env) is the load average before the run."""
import json, os, re, sys

summary, timefile, rate_of, labels = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
s = json.load(open(summary))
t = open(timefile).read()
wall = t.split("Elapsed (wall clock) time (h:mm:ss or m:ss): ")[1].split("\n")[0]
secs = sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall.split(":"))))
rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
cpu = re.search(r"Percent of CPU this job got: (\d+)%", t).group(1)
cpu_s = sum(float(re.search(p + r" \(seconds\): ([\d.]+)", t).group(1)) for p in ("User time", "System time"))
tm = s["timings"]
print(f"{' '.join(labels)} objects={s['objects']} lines={s['lines']} wall={secs:.2f}s "
      f"{rate_of}/s={s[rate_of]/secs:,.0f} peak_rss={rss_kb/1024:.0f}MiB cpu={cpu}% cpu_s={cpu_s:.1f} "
      f"(list {tm['list_ms']}ms, read {tm['read_ms']}ms, compute {tm['compute_ms']}ms, "
      f"write {tm['write_ms']}ms, publish {tm['publish_ms']}ms) load_before={os.environ.get('LOAD', '?')}")
