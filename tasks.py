"""kubedojo's commands: ``invoke --list`` shows them. The work happens in the ``kubedojo`` package."""

from pathlib import Path

from kubedojo.tasks import namespace

ns = namespace(Path(__file__).resolve().parent)
