"""Child process: serve tests/loopback.py on 127.0.0.1 until stdin closes.

argv[1] is a JSON object of ``Behaviour`` fields. Prints the base URL, then answers one JSON
line per command read from stdin: ``count`` (requests received), ``times`` (each request's
arrival, ``time.monotonic()``: the system-wide clock, comparable across processes) or
``statuses``.
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from loopback import Behaviour, LoopbackServer


def main() -> None:
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    if "faults" in kw:
        kw["faults"] = tuple(kw["faults"])
    with LoopbackServer(Behaviour(**kw)) as srv:
        print(srv.base_url, flush=True)
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "count":
                print(json.dumps(srv.request_count), flush=True)
            elif cmd == "times":  # CLOCK_MONOTONIC, system-wide: comparable across processes
                with srv._lock:
                    arrived = list(srv.recorded.arrived)
                print(json.dumps(arrived), flush=True)
            elif cmd == "statuses":
                with srv._lock:
                    c = collections.Counter(str(s) for s in srv.recorded.statuses)
                print(json.dumps(dict(c)), flush=True)
            else:
                print(json.dumps({"error": f"unknown command {cmd!r}"}), flush=True)


if __name__ == "__main__":
    main()
