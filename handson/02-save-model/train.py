"""Train a small neural network on scikit-learn's handwritten digits (8x8 images of 0-9), offline.

Usage: python train.py EPOCHS ACTIVATION ALPHA [--model-dir DIR]

  EPOCHS      passes over the training data, a whole number (for example 5)
  ACTIVATION  the hidden layer's activation: relu, tanh, logistic or identity
  ALPHA       L2 regularisation strength, a number >= 0 (for example 0.0001)

It prints its arguments, the data sizes, one line per epoch, and at the end the lines
"Test loss: ..." and "Test accuracy: ..." that the grader reads. Then it saves the trained model to
DIR/model-YYYYmmdd-HHMMSS.joblib (DIR: /model_storage, where the volume is mounted).
"""

import argparse
import contextlib
import hashlib
import json
import signal
import sys
import time
import warnings
from pathlib import Path

import joblib
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

ACTIVATIONS = ("relu", "tanh", "logistic", "identity")


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
    parser = argparse.ArgumentParser(description="Train an MLP on the digits dataset.")
    parser.add_argument("epochs", type=positive_int, help="passes over the data (a whole number >= 1)")
    parser.add_argument("activation", choices=ACTIVATIONS, help="hidden-layer activation")
    parser.add_argument("alpha", type=non_negative_float, help="L2 regularisation (a number >= 0)")
    parser.add_argument(
        "--model-dir", type=Path, default=Path("/model_storage"), help="where to save the model"
    )
    return parser.parse_args(argv)


def train(epochs: int, activation: str, alpha: float) -> MLPClassifier:
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    print(f"{len(x_train)} train samples", flush=True)
    print(f"{len(x_test)} test samples", flush=True)
    model = MLPClassifier(
        hidden_layer_sizes=(64,),
        activation=activation,
        alpha=alpha,
        random_state=0,
        learning_rate_init=0.01,
    )
    warnings.simplefilter("ignore", ConvergenceWarning)
    for epoch in range(1, epochs + 1):
        # One pass over the training data per call: an "epoch".
        model.partial_fit(x_train, y_train, classes=list(range(10)))
        print(f"Epoch {epoch}/{epochs} - loss: {model.loss_:.4f}", flush=True)
    print(f"Test loss: {log_loss(y_test, model.predict_proba(x_test)):.4f}", flush=True)
    print(f"Test accuracy: {model.score(x_test, y_test):.4f}", flush=True)
    return model


def report_files(*paths: Path) -> None:
    """Leave the SHA-256 of what this run wrote in the container's termination message: the grader
    compares it with the file on the volume, so a file put there by anything else does not count."""
    files = [{"name": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()} for p in paths]
    with contextlib.suppress(OSError):  # outside a Kubernetes container there is no such file
        Path("/dev/termination-log").write_text(json.dumps({"files": files}))


def main(argv: list[str]) -> int:
    stop_on_sigterm()
    print(argv, flush=True)
    args = parse_args(argv[1:])
    # Check before training: the directory must be the mounted volume, or the model would be lost
    # with the container.
    if not args.model_dir.is_dir():
        print(f"model directory {args.model_dir} does not exist: mount the volume there", file=sys.stderr)
        return 1
    model = train(args.epochs, args.activation, args.alpha)
    path = args.model_dir / time.strftime("model-%Y%m%d-%H%M%S.joblib")
    joblib.dump(model, path)
    report_files(path)
    print(f"Saved model to {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
