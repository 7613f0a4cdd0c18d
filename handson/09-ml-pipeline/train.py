"""The pipeline's training step: one small neural network on the digits the pipeline fetched.

Usage: python train.py EPOCHS ACTIVATION ALPHA --data FILE --out DIR

  EPOCHS      passes over the training data, a whole number (for example 30)
  ACTIVATION  the hidden layer's activation: relu, tanh, logistic or identity
  ALPHA       L2 regularisation strength, a number >= 0 (for example 0.0001)
  --data      the .npz file the fetch step downloaded (x_train, y_train, x_test, y_test)
  --out       the directory on the models volume where the weights go

It prints its arguments, the data sizes, one line per epoch and "Test accuracy: ...". It saves the
weights to DIR/<ACTIVATION>-<ALPHA>.npz, and writes the model's name to /tmp/model and its accuracy to
/tmp/accuracy (the step's output parameters). When it ends, it leaves what it printed and the
SHA-256 of what it saved in the container's termination message (see report).
"""

import argparse
import contextlib
import hashlib
import json
import signal
import sys
import traceback
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

ACTIVATIONS = ("relu", "tanh", "logistic", "identity")
TERMINATION_LOG = Path("/dev/termination-log")
REPORT_MAX_BYTES = 4000
"""The kubelet keeps at most 4096 bytes of a termination message."""
OUTPUT: list[str] = []
"""What the script printed, stdout and stderr in order (from keep_output on)."""
SAVED: list[Path] = []
"""The files this run saved (the scripts that save a model add them)."""


class Kept:
    """A stream that writes through and keeps a copy of what was written in OUTPUT."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        OUTPUT.append(text)
        return self.stream.write(text)

    def __getattr__(self, name):
        return getattr(self.stream, name)


def keep_output() -> None:
    sys.stdout, sys.stderr = Kept(sys.stdout), Kept(sys.stderr)


def report() -> None:
    """Leave what this run printed, and the SHA-256 of the files it saved, in the container's
    termination message. The grader reads it with the pod instead of fetching every pod's log (a
    class of 200 has a thousand), and counts a file on a volume only if this run reported it. Output
    longer than a message holds is left out: the grader then reads the log."""
    files = [{"name": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()} for p in SAVED]
    message = json.dumps({"log": "".join(OUTPUT), "files": files})
    if len(message.encode()) > REPORT_MAX_BYTES:
        message = json.dumps({"files": files})
    with contextlib.suppress(OSError):  # outside a Kubernetes container there is no such file
        TERMINATION_LOG.write_text(message)


def run(main) -> None:
    """Run main(sys.argv) and exit with its status, reporting first whichever way it ends (an
    error, a wrong argument, SIGTERM), with what Python would print about it in the report too."""
    keep_output()
    try:
        code = main(sys.argv)
    except SystemExit as stop:
        code = stop.code
    except Exception:
        traceback.print_exc()
        code = 1
    if isinstance(code, str):  # SystemExit("why"): Python prints why and exits with status 1
        print(code, file=sys.stderr)
        code = 1
    report()
    sys.exit(code)


def stop_on_sigterm() -> None:
    """Exit at once when Kubernetes stops the pod (a deadline, a deletion). As the container's first
    process, Python would otherwise ignore SIGTERM and be killed only after the grace period."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise ValueError(text)
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train an MLP on the fetched digits.")
    parser.add_argument("epochs", type=positive_int, help="passes over the data (a whole number >= 1)")
    parser.add_argument("activation", choices=ACTIVATIONS, help="hidden-layer activation")
    parser.add_argument("alpha", type=non_negative_float, help="L2 regularisation (a number >= 0)")
    parser.add_argument("--data", type=Path, required=True, help="the fetched .npz file")
    parser.add_argument("--out", type=Path, required=True, help="where to save the weights")
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(map(repr, unknown))}")
    return args


def main(argv: list[str]) -> int:
    stop_on_sigterm()
    print(argv, flush=True)
    args = parse_args(argv[1:])
    if not args.data.is_file():
        print(f"no data at {args.data}: give the step the fetch step's artifact there", file=sys.stderr)
        return 1
    data = np.load(args.data)
    x_train, y_train, x_test, y_test = (data[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    print(f"{len(x_train)} train samples, {len(x_test)} test samples", flush=True)
    model = MLPClassifier(
        hidden_layer_sizes=(64,),
        activation=args.activation,
        alpha=args.alpha,
        random_state=0,
        learning_rate_init=0.01,
    )
    warnings.simplefilter("ignore", ConvergenceWarning)
    for epoch in range(1, args.epochs + 1):
        model.partial_fit(x_train, y_train, classes=list(range(10)))
        print(f"Epoch {epoch}/{args.epochs} - loss: {model.loss_:.4f}", flush=True)
    accuracy = model.score(x_test, y_test)
    print(f"Test accuracy: {accuracy:.4f}", flush=True)
    name = f"{args.activation}-{args.alpha:g}"
    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / f"{name}.npz"
    np.savez(weights, *model.coefs_, *model.intercepts_)
    SAVED.append(weights)
    Path("/tmp/model").write_text(name)
    Path("/tmp/accuracy").write_text(f"{accuracy:.4f}")
    print(f"Saved {name} to {weights}", flush=True)
    return 0


if __name__ == "__main__":
    run(main)
