"""A "training" script that only eats memory: it shows what a memory limit does.

Usage: python -u train_oom.py EPOCHS ACTIVATION ALPHA   (checked like train.py's, then ignored)

It grows its memory by 16 MiB every 0.05 s (about 320 MiB a second), reporting every 64 MiB. Inside
a container with a memory limit, the kernel kills it when it crosses the limit: the container ends
with reason OOMKilled and exit code 137. Without a limit it stops at MAX_MB (environment variable,
default 2048) and exits normally.
"""

import os
import time

from train import parse_args, run, stop_on_sigterm

CHUNK_MB = 16


def main(argv: list[str]) -> int:
    stop_on_sigterm()
    print(argv, flush=True)
    parse_args(argv[1:])
    limit_mb = int(os.environ.get("MAX_MB", "2048"))
    hoard = []
    allocated = 0
    while allocated < limit_mb:
        # Filled bytes, so the pages are really touched (an untouched allocation costs nothing).
        hoard.append(b"\x01" * (CHUNK_MB << 20))
        allocated += CHUNK_MB
        if allocated % 64 == 0:
            print(f"allocated {allocated} MiB", flush=True)
        time.sleep(0.05)
    print("finished without running out of memory", flush=True)
    return 0


if __name__ == "__main__":
    run(main)
