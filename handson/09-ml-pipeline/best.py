"""The pipeline's choice: the best of the trained models.

Usage: python best.py RESULTS

RESULTS is the JSON list of the training steps' output parameters, as Argo gives it for a fan-out
(``{{tasks.train.outputs.parameters}}``): ``[{"model": "relu-0.0001", "accuracy": "0.9711"}, ...]``.
It prints every model with its accuracy and the best, and writes the best model's name to /tmp/model
and its accuracy to /tmp/accuracy (the step's output parameters).
"""

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        results = json.loads(argv[1])
        scored = [(float(r["accuracy"]), str(r["model"])) for r in results]
    except (ValueError, KeyError, TypeError) as exc:
        print(f"RESULTS is not a list of {{model, accuracy}}: {exc}: {argv[1][:200]!r}", file=sys.stderr)
        return 2
    if not scored:
        print("no results: did the training steps run?", file=sys.stderr)
        return 1
    for accuracy, model in sorted(scored, reverse=True):
        print(f"{model}: {accuracy:.4f}")
    accuracy, model = max(scored)
    print(f"best: {model} ({accuracy:.4f})", flush=True)
    Path("/tmp/model").write_text(model)
    Path("/tmp/accuracy").write_text(f"{accuracy:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
