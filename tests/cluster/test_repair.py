"""``cluster.up`` is idempotent, and repairs any component killed with SIGKILL while nothing else
would (its supervisor killed too: test_supervisor.py shows the supervisor doing it by itself)."""

from __future__ import annotations

import pytest

from kubedojo.client.kube import KubeClient
from kubedojo.local.provider import LocalCluster

from .conftest import make_cluster
from .helpers import is_true, job, wait_job_finished

COMPONENTS = [component.name for component in make_cluster().components]


def test_up_on_a_healthy_cluster_changes_nothing(cluster: LocalCluster) -> None:
    report = cluster.up()
    assert not report.changed, [a for a in report.actions if a[1] != "unchanged"]
    assert {subject for subject, _ in report.actions} >= set(COMPONENTS)


@pytest.mark.disruptive
@pytest.mark.parametrize("name", COMPONENTS)
def test_sigkilled_component_is_brought_back_by_up(
    cluster: LocalCluster, admin: KubeClient, namespace: str, name: str
) -> None:
    component = cluster.component(name)
    before = cluster.processes.pid(component.daemon)
    assert before is not None
    cluster.processes.kill(cluster.supervisor)  # else it starts the component again by itself
    cluster.processes.kill(component.daemon)
    assert not cluster.processes.alive(component.daemon)
    assert not cluster.status().healthy

    report = cluster.up()

    assert (name, "restarted") in report.actions
    assert cluster.processes.alive(cluster.supervisor)
    after = cluster.processes.pid(component.daemon)
    assert after is not None and after != before
    status = cluster.status()
    assert status.healthy, [c for c in status.components if not c.healthy]
    # The repaired cluster still runs workloads end to end.
    admin.create(job("after", cluster.image_ref("base"), ["python3", "-c", "print('alive')"]), namespace)
    assert is_true(wait_job_finished(admin, namespace, "after", timeout=120), "Complete")
