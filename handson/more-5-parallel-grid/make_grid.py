"""Print six training Jobs, one per hyper-parameter combination, ready for ``kubectl create``.

Usage: python make_grid.py > grid.yaml
       invoke lab.run more-5-parallel-grid --file grid.yaml      (or: kubectl create -f grid.yaml)

The grid: 5 epochs x activation relu or tanh x alpha 0.3, 0.5 or 0.8. Three classic mistakes are
avoided here:
  * every Job gets its own name from ``generateName: grid-`` (a fixed ``name: ml-job-`` is not even a
    valid name: names must not end with '-', and six Jobs cannot share one);
  * the arguments are strings ("5", not 5): Kubernetes refuses numbers in ``args``;
  * generateName works with ``kubectl create``, not ``kubectl apply`` (apply needs a name).
"""

import itertools
import sys
from typing import Any

import yaml

IMAGE = "127.0.0.1:5000/kubedojo/lab-more-5-parallel-grid:v1"
EPOCHS = ["5"]
ACTIVATIONS = ["relu", "tanh"]
ALPHAS = ["0.3", "0.5", "0.8"]


def job(epochs: str, activation: str, alpha: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": "grid-", "labels": {"experiment": "grid"}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "train",
                            "image": IMAGE,
                            "imagePullPolicy": "Always",
                            "command": ["python", "train.py"],
                            "args": [epochs, activation, alpha],
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                                "limits": {"cpu": "500m", "memory": "256Mi"},
                            },
                        }
                    ],
                }
            },
        },
    }


def main() -> int:
    jobs = [job(*combination) for combination in itertools.product(EPOCHS, ACTIVATIONS, ALPHAS)]
    yaml.safe_dump_all(jobs, sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
