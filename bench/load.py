"""Load one URL from this process for a fixed time at a fixed concurrency; write
requests/s and latency percentiles as JSON. Run by bench/run.py as a second process."""

import argparse
import http.client
import json
import math
import threading
import time
from urllib.parse import urlsplit


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--token", required=True)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    parts = urlsplit(args.url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"Authorization": f"Token {args.token}", "Accept": "application/json"}
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + args.seconds

    def worker():
        mine, failed = [], 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                conn.close()
                ok = response.status == 200
            except OSError:
                ok = False
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                failed += 1
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p):
        return (
            round(latencies[max(0, math.ceil(p / 100 * len(latencies)) - 1)] * 1000, 2)
            if latencies
            else None
        )

    with open(args.out, "w") as out:
        json.dump(
            {
                "requests": len(latencies),
                "errors": errors[0],
                "rps": round(len(latencies) / elapsed, 1),
                "p50_ms": pct(50),
                "p99_ms": pct(99),
            },
            out,
        )


if __name__ == "__main__":
    main()
