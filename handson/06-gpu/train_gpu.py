"""Lab 06: the training of lab 01, run on a GPU node, reporting the GPUs the container was given.

Usage: python train_gpu.py EPOCHS ACTIVATION ALPHA   (as train.py)

Before it trains, it prints one line the grader reads on a real GPU node:

    GPUs given to this container: 1 (nvidia0); NVIDIA_VISIBLE_DEVICES=GPU-3f2a...

The NVIDIA device plugin gives a container one device file /dev/nvidiaN for each GPU in its limits
(and sets NVIDIA_VISIBLE_DEVICES); a container without a GPU limit sees none. The training itself is
scikit-learn's and runs on the CPU: the lab image carries no CUDA, so what is graded on a real node is
that the GPU was handed to the container, not that a CUDA program used it.
"""

import os
import re
from pathlib import Path

from train import parse_args, run, stop_on_sigterm, train


def gpu_devices() -> list[str]:
    """The GPU device files this container was given (/dev/nvidia0, /dev/nvidia1, ...)."""
    return sorted(p.name for p in Path("/dev").glob("nvidia*") if re.fullmatch(r"nvidia[0-9]+", p.name))


def main(argv: list[str]) -> int:
    stop_on_sigterm()
    print(argv, flush=True)
    args = parse_args(argv[1:])
    devices = gpu_devices()
    visible = os.environ.get("NVIDIA_VISIBLE_DEVICES", "")
    print(
        f"GPUs given to this container: {len(devices)} ({', '.join(devices) or 'none'}); "
        f"NVIDIA_VISIBLE_DEVICES={visible!r}",
        flush=True,
    )
    train(args.epochs, args.activation, args.alpha)
    return 0


if __name__ == "__main__":
    run(main)
