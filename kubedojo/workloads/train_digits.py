"""Train a small neural network on scikit-learn's bundled digits (8x8 images of 0-9), offline.

Usage: python train_digits.py EPOCHS ACTIVATION ALPHA
  EPOCHS      passes over the training data (for example 30)
  ACTIVATION  hidden-layer activation: relu, tanh, logistic or identity
  ALPHA       L2 regularisation strength (for example 0.0001)

Prints the arguments, the data sizes, one line per epoch and finally "Test accuracy: <float>".
"""

import sys
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler


def main(argv: list[str]) -> int:
    print(argv, flush=True)
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    epochs, activation, alpha = int(argv[1]), argv[2], float(argv[3])
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
        model.partial_fit(x_train, y_train, classes=list(range(10)))
        print(f"Epoch {epoch}/{epochs} - loss: {model.loss_:.4f}", flush=True)
    print(f"Test loss: {log_loss(y_test, model.predict_proba(x_test)):.4f}", flush=True)
    print(f"Test accuracy: {model.score(x_test, y_test):.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
