"""Command-line start-up: wall time of short commands, as a user waits for them.

Run: ``python bench/bench_cli.py``. Each command runs 15 times in a fresh interpreter (as the
``didvc`` script does: ``python -m didvc_cli``); the table gives the median and the range, and
the same for ``python -c pass`` (the interpreter alone) in the same run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
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


# commands that open a sealed store also pay the passphrase's KDF (Argon2id, by design)
STORE_COMMANDS = {
    "didvc issuer list (a sealed store: KDF included)": [sys.executable, "-m", "didvc_cli", "issuer", "list"],
    "didvc wallet did list (a sealed store: KDF included)": [
        sys.executable,
        "-m",
        "didvc_cli",
        "wallet",
        "did",
        "list",
    ],
}


def main() -> None:
    commands = {**COMMANDS, **STORE_COMMANDS}
    samples: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory() as where:
        env = {**os.environ, "DIDVC_ISSUER_PASSPHRASE": "bench", "DIDVC_WALLET_PASSPHRASE": "bench"}
        for init in (["issuer", "init", "--base-url", "https://status.example"], ["wallet", "init"]):
            subprocess.run([sys.executable, "-m", "didvc_cli", *init], cwd=where, env=env, check=True)
        for _ in range(RUNS):  # interleaved: a drift of the machine moves every row alike
            for name, command in commands.items():
                began = time.perf_counter()
                subprocess.run(command, capture_output=True, check=True, cwd=where, env=env)
                samples[name].append(time.perf_counter() - began)
    print("## Command-line start-up (bench/bench_cli.py)\n")
    print("| command | median s | range s |")
    print("| --- | ---: | ---: |")
    for name, values in samples.items():
        print(f"| {name} | {statistics.median(values):.3f} | {min(values):.3f}–{max(values):.3f} |")


if __name__ == "__main__":
    main()
