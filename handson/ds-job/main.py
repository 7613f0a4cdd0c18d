"""The ds-job example: fit a small pipeline on scikit-learn's iris flowers and print how it did.

The image's CMD runs this file, so the Job needs no command.
"""

from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main() -> None:
    x, y = load_iris(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression(random_state=0))
    print("Fitting model...", flush=True)
    model.fit(x_train, y_train)
    predictions = model.predict(x_test)
    print("Training finished with confusion matrix:", flush=True)
    # Rows are the true classes, columns the predicted ones (setosa, versicolor, virginica).
    print(confusion_matrix(y_test, predictions), flush=True)


if __name__ == "__main__":
    main()
