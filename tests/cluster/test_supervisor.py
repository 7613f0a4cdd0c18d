"""The local cluster heals itself: a component that dies is started again by the supervisor, without
anyone running ``cluster.up``, while a lab's Job runs through it; ``cluster.status`` counts the
restarts."""

from __future__ import annotations

import pytest

from kubedojo.client.kube import KubeClient
from kubedojo.local.provider import LocalCluster

from .conftest import make_cluster
from .helpers import is_true, job, kill_and_await_return, wait_job_finished

COMPONENTS = [component.name for component in make_cluster().components]


@pytest.mark.disruptive
def test_every_killed_component_comes_back_by_itself_while_a_job_runs(
    cluster: LocalCluster, admin: KubeClient, namespace: str
) -> None:
    assert cluster.processes.alive(cluster.supervisor)
    admin.create(
        job(
            "through",
            cluster.image_ref("base"),
            ["python3", "-c", "import time; time.sleep(30); print('done')"],
        ),
        namespace,
    )
    restarts = {c.name: c.restarts for c in cluster.status().components}
    for name in COMPONENTS:
        kill_and_await_return(cluster, name)

    status = cluster.status()
    assert status.healthy, [c for c in status.components if not c.healthy]
    after = {c.name: c.restarts for c in status.components}
    assert all(after[name] == restarts[name] + 1 for name in COMPONENTS), (restarts, after)
    # The Job went on through every component's death, and the cluster runs new work too.
    assert is_true(wait_job_finished(admin, namespace, "through", timeout=300), "Complete")
    admin.create(job("after", cluster.image_ref("base"), ["python3", "-c", "print('alive')"]), namespace)
    assert is_true(wait_job_finished(admin, namespace, "after", timeout=120), "Complete")
    # And up finds nothing to repair.
    report = cluster.up()
    assert not report.changed, [a for a in report.actions if a[1] != "unchanged"]
