"""Graded labs: definitions (``labs/<id>/lab.yaml``), the grader, and running a lab on a cluster.

Layers: :mod:`definition` and :mod:`catalog` read labs; :mod:`submission` reads a participant's
manifest; :mod:`grading` evaluates checks against a :mod:`snapshot` of the cluster, each with the
evaluator registered for its kind (:mod:`evaluators`); :mod:`recording` grades, keeps evidence and
writes the record; :mod:`runner` ties it together (start, submit, follow, grade, record, reset). Only
the client layer talks to the API server.

The lab-author API — what a lab's own ``labs/<id>/checks.py`` may import, from this package only — is
``LAB_AUTHOR_API``, a part of ``__all__`` (see docs/labs.md).
"""

from __future__ import annotations

from ..jsonpath import select
from ..quantity import parse_quantity, same_quantity
from .catalog import Catalog
from .context import FileInfo, FileReader, GradingContext
from .definition import LabDefinition, Select, load_definition
from .grading import grade
from .objects import created_at, job_finished
from .records import ResultStore
from .results import CheckResult, LabResult, Outcome
from .runner import LabReporter, LabRunner, NullLabReporter
from .submission import BLANK, Submission, read_submission
from .workflows import node_parameter, nodes_named
from .workloads import final_state

LAB_AUTHOR_API = (
    "FileInfo",
    "GradingContext",
    "Outcome",
    "Select",
    "created_at",
    "final_state",
    "job_finished",
    "node_parameter",
    "nodes_named",
    "parse_quantity",
    "same_quantity",
    "select",
)
"""What a lab's ``checks.py`` may import from :mod:`kubedojo.labs` (a unit test holds the labs to it)."""

__all__ = [
    "BLANK",
    "LAB_AUTHOR_API",
    "Catalog",
    "CheckResult",
    "FileInfo",
    "FileReader",
    "GradingContext",
    "LabDefinition",
    "LabReporter",
    "LabResult",
    "LabRunner",
    "NullLabReporter",
    "Outcome",
    "ResultStore",
    "Select",
    "Submission",
    "created_at",
    "final_state",
    "grade",
    "job_finished",
    "load_definition",
    "node_parameter",
    "nodes_named",
    "parse_quantity",
    "read_submission",
    "same_quantity",
    "select",
]
