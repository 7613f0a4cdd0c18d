"""Render one Kubernetes Job per experiment of an experiments file, as a multi-document YAML stream.

Usage: python make_jobs.py experiments.yaml > jobs.yaml
       invoke lab.run 05-many-jobs --file jobs.yaml      (or: kubectl apply -f jobs.yaml)

The Jobs are named exp-01, exp-02, ... in the file's order. Their arguments are turned into strings
(Kubernetes refuses numbers in args), and every Job gets the file's resources as both requests and
limits, so the scheduler knows how many fit on a node and each is capped at what it asked for.
"""

import sys
from pathlib import Path
from typing import Any

import yaml


def fail(message: str) -> None:
    raise SystemExit(f"{sys.argv[1] if len(sys.argv) > 1 else 'experiments file'}: {message}")


def job(number: int, image: str, script: str, args: list[Any], resources: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"exp-{number:02d}", "labels": {"experiment": "many-jobs"}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {"experiment": "many-jobs"}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "train",
                            "image": image,
                            "imagePullPolicy": "Always",
                            "command": ["python", "-u", script],
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
        fail("the top level must be a mapping with image, resources and experiments")
    image, resources, experiments = data.get("image"), data.get("resources"), data.get("experiments")
    if not isinstance(image, str) or not image:
        fail("'image' must be an image reference")
    if not isinstance(resources, dict) or not all(
        isinstance(v, str | int | float) for v in resources.values()
    ):
        fail("'resources' must be a mapping such as {cpu: 600m, memory: 256Mi}")
    if not isinstance(experiments, list) or not experiments:
        fail("'experiments' must be a list of {script, args}")
    jobs = []
    for i, experiment in enumerate(experiments):
        if not isinstance(experiment, dict) or not isinstance(experiment.get("script"), str):
            fail(f"'experiments[{i}].script' must be a file name such as train.py")
        runs = experiment.get("args")
        if not isinstance(runs, list) or not all(isinstance(r, list) and len(r) == 3 for r in runs):
            fail(f"'experiments[{i}].args' must be a list of [epochs, activation, alpha]")
        for run in runs:
            jobs.append(
                job(
                    len(jobs) + 1, image, experiment["script"], run, {k: str(v) for k, v in resources.items()}
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
