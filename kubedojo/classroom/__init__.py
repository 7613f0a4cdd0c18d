"""The classroom: participants' namespaces, credentials and quotas; grading everyone; the scoreboard."""

from __future__ import annotations

from .following import follow_grades
from .grading import ClassGrades, grade_class
from .objects import participant_objects, role_rules
from .roster import Participant, read_roster
from .scoreboard import Scoreboard, scoreboard
from .service import Classroom, SetupReport
from .status import follow_phases, pod_phases

__all__ = [
    "ClassGrades",
    "Classroom",
    "Participant",
    "Scoreboard",
    "SetupReport",
    "follow_grades",
    "follow_phases",
    "grade_class",
    "participant_objects",
    "pod_phases",
    "read_roster",
    "role_rules",
    "scoreboard",
]
