"""The labels kubedojo puts on objects and nodes, in one place for every layer."""

from __future__ import annotations

__all__ = [
    "CLASS_LABEL",
    "GPU_NODE_LABEL",
    "LAB_LABEL",
    "MANAGED",
    "PARTICIPANT_LABEL",
    "SIM_POOL_LABEL",
]

MANAGED = {"app.kubernetes.io/managed-by": "kubedojo"}
"""On everything kubedojo creates."""
PARTICIPANT_LABEL = "kubedojo.dev/participant"
"""On a participant's namespace: whose it is."""
CLASS_LABEL = "kubedojo.dev/class"
"""On a participant's namespace: which class made it."""
LAB_LABEL = "kubedojo.dev/lab"
"""On a lab's start record: which lab."""
SIM_POOL_LABEL = "kubedojo.dev/sim-pool"
"""On a simulated (kwok) node: its pool."""
GPU_NODE_LABEL = "nvidia.com/gpu.present"
"""On a node with NVIDIA GPUs (``true``), as NVIDIA's GPU feature discovery labels them."""
