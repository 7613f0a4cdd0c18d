"""Lab 09's own check: the chat channel heard from the pipeline which model won.

The message is what kubedojo's webhook receiver recorded as a ``WebhookReceived`` Event about the pod
that posted it (participants cannot write Events); the best model is the one the training steps
themselves reported (their output parameters), not what the message claims.
"""

from __future__ import annotations

import json
import re
from typing import Any

from kubedojo.labs import GradingContext, Outcome, Select, node_parameter, nodes_named

PIPELINE = Select(kind="Workflow", name="pipeline-09")
RECEIVER = "kubedojo-hooks"


def _text(message: str) -> str:
    try:
        body = json.loads(message)
    except ValueError:
        return message
    return str(body.get("text", message)) if isinstance(body, dict) else message


def best_announced(ctx: GradingContext, **params: Any) -> Outcome:
    what = "a chat message from pipeline-09 naming the best model and its accuracy"
    runs = ctx.finished_workflows(PIPELINE, what)
    if isinstance(runs, Outcome):
        return runs
    workflow = runs[0]
    results = []
    for node in nodes_named(workflow, "train"):
        model, accuracy = (
            node_parameter(node, "model", "outputs"),
            node_parameter(node, "accuracy", "outputs"),
        )
        if model is not None and accuracy is not None:
            results.append((float(accuracy), model))
    if not results:
        return Outcome.failed(what, "the train steps reported no model and accuracy (output parameters)")
    accuracy, model = max(results)
    pods = {pod["metadata"]["uid"] for pod in ctx.pods_of(workflow)}
    heard = [
        _text(str(event.get("message") or ""))
        for event in ctx.snapshot.of_kind("Event")
        if event.get("reason") == "WebhookReceived"
        and (event.get("reportingComponent") or (event.get("source") or {}).get("component")) == RECEIVER
        and (event.get("involvedObject") or {}).get("uid") in pods
    ]
    if not heard:
        return Outcome.failed(what, "no message from a pod of pipeline-09 reached the channel")
    for text in heard:
        numbers = [float(n) for n in re.findall(r"\d+\.\d+", text)]
        if re.search(rf"(?<![\w.-]){re.escape(model)}(?![\w.-])", text) and any(
            abs(n - accuracy) < 0.0005 for n in numbers
        ):
            return Outcome.passed(what, f"heard: {text[:200]}")
    return Outcome.failed(what, f"heard {heard[-1][:200]!r}; the best is {model} ({accuracy:.4f})")
