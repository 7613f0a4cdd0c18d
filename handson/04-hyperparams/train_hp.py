"""Train on the digits dataset with hyper-parameters read from a YAML file (a mounted ConfigMap).

Usage: python train_hp.py [--hp-file /model_hp/exp.yaml]

The file holds "args: [EPOCHS, ACTIVATION, ALPHA]", for example "args: [10, relu, 0.001]". The
script prints what it read, then trains exactly like train.py, and reports like it.
"""

import argparse
from pathlib import Path

import yaml
from train import ACTIVATIONS, run, stop_on_sigterm, train


def quoted_args(text: str) -> list[bool]:
    """For each item of the file's "args" list: was it written in quotes?"""
    node = yaml.compose(text)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "args" and isinstance(value, yaml.SequenceNode):
                return [
                    isinstance(item, yaml.ScalarNode) and item.style in ("'", '"') for item in value.value
                ]
    return []


def is_whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def wrong_value(name: str, wanted: str, value: object, quoted: bool, example: str) -> str:
    """Why ``value`` is not what ``name`` needs, from the way YAML read it."""
    fits = is_whole_number if wanted == "a whole number" else is_number
    start = f"{name} must be {wanted}, got {value!r}"
    if isinstance(value, str):
        try:
            unquoted = yaml.safe_load(value)
        except yaml.YAMLError:
            unquoted = value
        if quoted and fits(unquoted):
            return f"{start} in quotes, which YAML reads as text: remove the quotes"
        try:
            float(value)
        except ValueError:
            return f"{start}, which is text: write {wanted}, e.g. {example}"
        # Python reads it as a number, YAML does not: 1e-3 is text in YAML, whose numbers with an
        # exponent need a decimal point and a signed exponent (1.0e-3).
        return f"{start}, which YAML reads as text, not as a number: write it as {example}"
    if isinstance(value, float) and wanted == "a whole number":
        return f"{start}, a number with a decimal point: write it without one, e.g. {example}"
    return f"{start} (YAML reads it as a {type(value).__name__}): write {wanted}, e.g. {example}"


def read_hp(path: Path) -> dict:
    if not path.is_file():
        raise SystemExit(f"{path} does not exist: mount the ConfigMap with exp.yaml at {path.parent}")
    text = path.read_text()
    hp = yaml.safe_load(text)
    args = hp.get("args") if isinstance(hp, dict) else None
    if not isinstance(args, list) or len(args) != 3:
        raise SystemExit(f"{path}: 'args' must be a list of three: [epochs, activation, alpha]")
    epochs, activation, alpha = args
    quoted = quoted_args(text) + [False] * 3
    if not is_whole_number(epochs):
        raise SystemExit(wrong_value("epochs", "a whole number", epochs, quoted[0], "10"))
    if activation not in ACTIVATIONS:
        raise SystemExit(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    if not is_number(alpha):
        raise SystemExit(wrong_value("alpha", "a number", alpha, quoted[2], "0.001 (or 1.0e-3)"))
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
    run(main)
