"""The Invoke tasks: they parse arguments, call the core and print. Nothing else lives here."""

from __future__ import annotations

from pathlib import Path

from invoke.collection import Collection

__all__ = ["namespace"]


def namespace(project_dir: Path) -> Collection:
    """The root collection, configured with the project's workshop.yaml under the key ``kubedojo``."""
    from . import charts, classroom, cluster, images, lab, site
    from .support import read_workshop

    root = Collection()
    root.add_collection(cluster.ns)
    root.add_collection(charts.ns)
    root.add_collection(images.ns)
    root.add_collection(lab.ns)
    root.add_collection(classroom.ns)
    root.add_collection(site.ns)
    root.configure({"kubedojo": read_workshop(project_dir)})
    return root
