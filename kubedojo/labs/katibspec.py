"""What Katib accepts in an Experiment and then never runs: found before it is submitted.

Katib's admission webhook refuses most malformed Experiments itself (its message reaches the
participant). One mistake passes it: a search parameter that no trial parameter references. Katib's
controller then cannot fill in a trial's values, logs an error on every attempt, and the Experiment
stays ``Created`` with no trial, with nothing in its status or events to say why (v0.19)."""

from __future__ import annotations

from typing import Any

__all__ = ["experiment_problem"]


def experiment_problem(experiment: dict[str, Any]) -> str | None:
    """The field of a Katib Experiment that keeps Katib from running any trial, and what to do; or
    None."""
    spec = experiment.get("spec")
    if not isinstance(spec, dict):
        return None
    template = spec.get("trialTemplate") if isinstance(spec.get("trialTemplate"), dict) else {}
    referenced = {
        t.get("reference") for t in (template or {}).get("trialParameters") or [] if isinstance(t, dict)
    }
    for index, parameter in enumerate(spec.get("parameters") or []):
        name = parameter.get("name") if isinstance(parameter, dict) else None
        if name is not None and name not in referenced:
            return (
                f"'spec.parameters[{index}]' ({name}) is referenced by no trial parameter, so Katib could "
                f"make no trial: add one to spec.trialTemplate.trialParameters (reference: {name}) and use "
                "it in the trial's command as ${trialParameters.NAME}"
            )
    return None
