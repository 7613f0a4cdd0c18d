"""Render the experiment grid of an experiments file as Kubernetes Jobs, one per model and run.

Usage: python make_grid.py experiments.yaml > jobs.yaml
       invoke lab.run 05-autoscale-grid --file jobs.yaml      (or: kubectl apply -f jobs.yaml)

The Jobs are named exp01, exp02, ... (models in order, each model's runs in order). Each runs
``python -u train.py EPOCHS ACTIVATION ALPHA`` with its arguments as strings, asks for the file's
resources as requests and limits, and is sent to the pool's nodes (nodeSelector). It also tolerates
the taint ``kubedojo.dev/simulated``, which the local cluster's simulated pools carry so that nothing
lands there by accident; on a site's real pool the toleration changes nothing.
"""

import sys
from pathlib import Path
from typing import Any

import yaml

SIMULATED_TAINT = {"key": "kubedojo.dev/simulated", "operator": "Exists", "effect": "NoSchedule"}


def fail(message: str) -> None:
    raise SystemExit(f"{sys.argv[1] if len(sys.argv) > 1 else 'experiments file'}: {message}")


def job(number: int, image: str, pool: dict[str, str], args: list[Any], resources: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"exp{number:02d}", "labels": {"experiment": "grid"}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {"experiment": "grid"}},
                "spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": dict(pool),
                    "tolerations": [dict(SIMULATED_TAINT)],
                    "containers": [
                        {
                            "name": "train",
                            "image": image,
                            "imagePullPolicy": "Always",
                            "command": ["python", "-u", "train.py"],
                            "args": [str(a) for a in args],
                            "resources": {"requests": dict(resources), "limits": dict(resources)},
                        }
                    ],
                },
            },
        },
    }


def render(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        fail("the top level must be a mapping with image, pool, resources, models and runs")
    image, pool, resources = data.get("image"), data.get("pool"), data.get("resources")
    models, runs = data.get("models"), data.get("runs")
    if not isinstance(image, str) or not image:
        fail("'image' must be an image reference")
    if not isinstance(pool, dict) or not pool:
        fail("'pool' must be the pool's node label, such as {role: train-cpu}")
    if not isinstance(resources, dict) or not all(isinstance(v, str | int | float) for v in resources.values()):
        fail("'resources' must be a mapping such as {cpu: '2', memory: 3Gi}")
    if not isinstance(models, list) or not models:
        fail("'models' must be a list of alphas")
    if not isinstance(runs, list) or not all(isinstance(r, list) and len(r) == 2 for r in runs):
        fail("'runs' must be a list of [epochs, activation]")
    jobs = []
    for alpha in models:
        for epochs, activation in runs:
            jobs.append(
                job(
                    len(jobs) + 1,
                    image,
                    {str(k): str(v) for k, v in pool.items()},
                    [epochs, activation, alpha],
                    {str(k): str(v) for k, v in resources.items()},
                )
            )
    return jobs


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        data = yaml.safe_load(Path(argv[1]).read_text())
    except (OSError, yaml.YAMLError) as exc:
        fail(f"cannot be read: {exc}")
    if "___" in yaml.safe_dump(data):
        fail("still has a '___' blank: fill it in (see the README)")
    yaml.safe_dump_all(render(data), sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
