"""Python checks of lab 02 (the escape hatch for what the vocabulary does not say)."""

from __future__ import annotations

from kubedojo.labs import GradingContext, Outcome


def claim_bound(ctx: GradingContext, claim: str) -> Outcome:
    what = f"claim {claim}: Bound"
    for pvc in ctx.snapshot.of_kind("PersistentVolumeClaim"):
        if pvc["metadata"]["name"] != claim:
            continue
        if not ctx.fresh(pvc):
            found = "the claim is from before the lab started; reset the lab and submit again"
            return Outcome.failed(what, found)
        phase = (pvc.get("status") or {}).get("phase", "unknown")
        if phase == "Bound":
            return Outcome.passed(what, f"Bound to {pvc['spec'].get('volumeName')}")
        return Outcome.failed(what, f"{phase}")
    return Outcome.pending(what, "no such claim yet")
