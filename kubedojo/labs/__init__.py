"""Graded labs: definitions (``labs/<id>/lab.yaml``), the grader, and running a lab on a cluster.

Layers: :mod:`definition` and :mod:`catalog` read labs; :mod:`submission` reads a participant's
manifest; :mod:`grading` evaluates checks against a :mod:`snapshot` of the cluster; :mod:`runner`
ties it together (start, submit, follow, grade, record, reset). Only the client layer talks to the
API server.
"""

from __future__ import annotations

from .catalog import Catalog
from .definition import LabDefinition, Select, load_definition
from .grading import FileInfo, FileReader, GradingContext, grade
from .quantity import parse_quantity, same_quantity
from .records import ResultStore
from .results import CheckResult, LabResult, Outcome
from .runner import LabReporter, LabRunner, NullLabReporter
from .submission import BLANK, Submission, read_submission

__all__ = [
    "BLANK",
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
    "grade",
    "load_definition",
    "parse_quantity",
    "read_submission",
    "same_quantity",
]
