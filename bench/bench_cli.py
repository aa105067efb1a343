"""Command-line start-up: wall time of short commands, as a user waits for them.

Run: ``python bench/bench_cli.py``. Each command runs 15 times in a fresh interpreter (as the
``didvc`` script does: ``python -m didvc_cli``); the table gives the median and the range, and
the same for ``python -c pass`` (the interpreter alone) in the same run.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 15
COMMANDS = {
    "python -c pass (the interpreter alone)": [sys.executable, "-c", "pass"],
    "didvc --help": [sys.executable, "-m", "didvc_cli", "--help"],
    "didvc keygen --json": [sys.executable, "-m", "didvc_cli", "keygen", "--json"],
    "didvc resolve did:key:… (no network)": [
        sys.executable,
        "-m",
        "didvc_cli",
        "resolve",
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    ],
    "didvc issuer --help": [sys.executable, "-m", "didvc_cli", "issuer", "--help"],
    "didvc wallet --help": [sys.executable, "-m", "didvc_cli", "wallet", "--help"],
}


def main() -> None:
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(RUNS):  # interleaved: a drift of the machine moves every row alike
        for name, command in COMMANDS.items():
            began = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True)
            samples[name].append(time.perf_counter() - began)
    print("## Command-line start-up (bench/bench_cli.py)\n")
    print("| command | median s | range s |")
    print("| --- | ---: | ---: |")
    for name, values in samples.items():
        print(f"| {name} | {statistics.median(values):.3f} | {min(values):.3f}–{max(values):.3f} |")


if __name__ == "__main__":
    main()
