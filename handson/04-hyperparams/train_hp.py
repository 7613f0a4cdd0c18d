"""Train on the digits dataset with hyper-parameters read from a YAML file (a mounted ConfigMap).

Usage: python train_hp.py [--hp-file /model_hp/exp.yaml]

The file holds "args: [EPOCHS, ACTIVATION, ALPHA]", for example "args: [10, relu, 0.001]". The
script prints what it read, then trains exactly like train.py.
"""

import argparse
import sys
from pathlib import Path

import yaml
from train import ACTIVATIONS, stop_on_sigterm, train


def read_hp(path: Path) -> dict:
    if not path.is_file():
        raise SystemExit(f"{path} does not exist: mount the ConfigMap with exp.yaml at {path.parent}")
    hp = yaml.safe_load(path.read_text())
    args = hp.get("args") if isinstance(hp, dict) else None
    if not isinstance(args, list) or len(args) != 3:
        raise SystemExit(f"{path}: 'args' must be a list of three: [epochs, activation, alpha]")
    epochs, activation, alpha = args
    if not isinstance(epochs, int) or isinstance(epochs, bool):
        raise SystemExit(
            f"epochs must be an integer, got {epochs!r} (a {type(epochs).__name__}): remove the quotes"
        )
    if activation not in ACTIVATIONS:
        raise SystemExit(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    if not isinstance(alpha, int | float) or isinstance(alpha, bool):
        raise SystemExit(
            f"alpha must be a number, got {alpha!r} (a {type(alpha).__name__}): remove the quotes"
        )
    return hp


def main(argv: list[str]) -> int:
    stop_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hp-file", type=Path, default=Path("/model_hp/exp.yaml"))
    options = parser.parse_args(argv[1:])
    hp = read_hp(options.hp_file)
    print(hp, flush=True)
    epochs, activation, alpha = hp["args"]
    train(epochs, activation, float(alpha))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
