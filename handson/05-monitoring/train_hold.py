"""Lab 05-monitoring: keep training for a while, holding a training set of a chosen size in memory.

Usage: python train_hold.py SECONDS COPIES ACTIVATION

  SECONDS     how long to keep training, a whole number (for example 300)
  COPIES      how many copies of the digits training set to hold in memory: the memory the run uses
              grows with it, about 1 MiB a copy (for example 20, 60, 150)
  ACTIVATION  the hidden layer's activation: relu, tanh, logistic or identity

It prints how many samples it holds, then one line every few epochs, and ends with the test accuracy
as train.py does. Between steps it rests a little, so that three runs side by side leave the node
room to breathe: what differs between them is the memory.
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from train import ACTIVATIONS, positive_int, run, stop_on_sigterm

BATCH = 2000
REST_SECONDS = 0.2


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train for a while with a training set of a chosen size.")
    parser.add_argument("seconds", type=positive_int, help="how long to train (a whole number >= 1)")
    parser.add_argument("copies", type=positive_int, help="copies of the training set to hold (>= 1)")
    parser.add_argument("activation", choices=ACTIVATIONS, help="hidden-layer activation")
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(map(repr, unknown))}")
    return args


def main(argv: list[str]) -> int:
    stop_on_sigterm()
    print(argv, flush=True)
    args = parse_args(argv[1:])
    x, y = load_digits(return_X_y=True)
    x = StandardScaler().fit_transform(np.tile(x, (args.copies, 1)))
    y = np.tile(y, args.copies)
    print(f"{len(x)} train samples held in memory ({x.nbytes / 2**20:.0f} MiB)", flush=True)
    model = MLPClassifier(hidden_layer_sizes=(32,), activation=args.activation, random_state=0)
    rng = np.random.default_rng(0)
    end = time.monotonic() + args.seconds
    step = 0
    while time.monotonic() < end:
        step += 1
        batch = rng.integers(0, len(x), BATCH)
        model.partial_fit(x[batch], y[batch], classes=list(range(10)))
        if step % 25 == 0:
            print(f"Step {step} - loss: {model.loss_:.4f}", flush=True)
        time.sleep(REST_SECONDS)
    print(f"Test accuracy: {model.score(x[:1797], y[:1797]):.4f}", flush=True)
    return 0


if __name__ == "__main__":
    run(main)
