"""``invoke cluster.*``: bring the cluster up, down, and look at it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from .support import RichReporter, console, emit_json, kubedojo_task, mapping_rows, settings, table


def _local(c: Context, reporter: Any = None) -> Any:
    from ..local.provider import LocalCluster

    return LocalCluster(settings(c), reporter=reporter)


@task(
    help={
        "inventory": "an on-prem site directory (inventory/<site>); without it, the local cluster",
        "sim_nodes": "simulated nodes per pool, e.g. gpu=2,train-cpu=1 (pools: workshop.yaml)",
        "json": "print the result as JSON",
    }
)
@kubedojo_task
def up(c: Context, inventory: str = "", sim_nodes: str = "", json: bool = False) -> None:
    """Start the cluster (build and repair what is needed); does nothing when it is healthy."""
    from ..errors import ConfigError
    from ..local.simnodes import parse_sim_nodes

    if inventory:
        raise ConfigError(
            f"-i {inventory}: on-prem provisioning with kubespray is not available yet "
            "(it arrives with the on-prem issue); run 'invoke cluster.up' for the local cluster"
        )
    config = settings(c)
    counts = parse_sim_nodes(sim_nodes, config.local.sim_pools) if sim_nodes else None
    cluster = _local(c, RichReporter(quiet=json))
    report = cluster.up(counts)
    if json:
        emit_json(
            {
                "changed": report.changed,
                "seconds": round(report.seconds, 2),
                "actions": [{"subject": s, "action": a} for s, a in report.actions],
                "kubeconfig": str(cluster.kubeconfig_path),
            }
        )
        return
    out = console()
    changes = [[s, a] for s, a in report.actions if a != "unchanged"]
    if changes:
        out.print(table("What changed", ["part", "action"], changes))
        out.print(f"Cluster ready in {report.seconds:.1f} s. Kubeconfig: {cluster.kubeconfig_path}")
    else:
        out.print(f"Nothing to change: the cluster is healthy ({report.seconds:.1f} s).")


@task(help={"json": "print the result as JSON"})
@kubedojo_task
def build(c: Context, json: bool = False) -> None:
    """Build (or download) the binaries and build the images into the cache, starting nothing."""
    cluster = _local(c, RichReporter(quiet=json))
    report = cluster.build()
    if json:
        emit_json(
            {
                "changed": report.changed,
                "seconds": round(report.seconds, 2),
                "actions": [{"subject": s, "action": a} for s, a in report.actions],
                "cache": str(cluster.cache.root),
            }
        )
        return
    rows = [list(action) for action in report.actions]
    console().print(table(f"Cache {cluster.cache.root}", ["part", "action"], rows))


@task(
    help={
        "purge": "also delete the state directory (certificates, etcd data, logs)",
        "json": "print the result as JSON",
    }
)
@kubedojo_task
def down(c: Context, purge: bool = False, json: bool = False) -> None:
    """Stop the cluster and put this machine's settings back as they were."""
    cluster = _local(c, RichReporter(quiet=json))
    undone = cluster.down(purge=purge)
    if json:
        emit_json({"stopped": undone})
    elif undone:
        console().print("Stopped and removed: " + ", ".join(undone))
    else:
        console().print("Nothing was running.")


@task(help={"json": "print the status as JSON"})
@kubedojo_task
def status(c: Context, json: bool = False) -> None:
    """Each component's health and the nodes; exits 1 when the cluster is not healthy."""
    from invoke.exceptions import Exit

    state = _local(c).status()
    if json:
        emit_json({**asdict(state), "healthy": state.healthy})
    else:
        out = console()
        out.print(
            table(
                f"Components ({state.state_dir})",
                ["component", "pid", "health", "log"],
                [
                    [
                        s.name,
                        str(s.pid or "-"),
                        "[green]healthy[/green]" if s.healthy else "[red]down[/red]",
                        s.log,
                    ]
                    for s in state.components
                ],
            )
        )
        if state.nodes:
            out.print(
                table(
                    "Nodes",
                    ["node", "ready", "kind", "pool", "version", "allocatable"],
                    [
                        [
                            n.name,
                            "Ready" if n.ready else "NotReady",
                            "simulated" if n.simulated else "real",
                            n.pool or "-",
                            n.kubelet_version,
                            mapping_rows(n.allocatable),
                        ]
                        for n in state.nodes
                    ],
                )
            )
        out.print(f"API server: {state.api_url}   kubeconfig: {state.kubeconfig}")
    if not state.healthy:
        raise Exit(code=1)


@task(help={"json": "print as JSON"})
@kubedojo_task
def kubeconfig(c: Context, json: bool = False) -> None:
    """Print the path of the admin kubeconfig (mode 0600), for KUBECONFIG=... kubectl."""
    from ..errors import NotRunningError

    cluster = _local(c)
    path = cluster.kubeconfig_path
    if not path.exists():
        raise NotRunningError(f"{path} does not exist yet: run 'invoke cluster.up' first")
    kubectl = cluster.layout.k8s_bin / "kubectl"
    if json:
        emit_json({"kubeconfig": str(path), "kubectl": str(kubectl), "server": cluster.layout.api_url})
    else:
        print(path)


@task(name="sample-job", help={"timeout": "seconds to wait for the Job", "json": "print as JSON"})
@kubedojo_task
def sample_job(c: Context, timeout: float = 300.0, json: bool = False) -> None:
    """Run a sample training Job (digits, scikit-learn) to completion and print its accuracy."""
    from invoke.exceptions import Exit

    from ..sample_job import run_sample_job

    cluster = _local(c)
    cluster.require_running()
    client = cluster.admin_client()
    try:
        with RichReporter(quiet=json).step("Training Job from the lab base image"):
            result = run_sample_job(client, cluster.image_ref("base"), timeout=timeout)
    finally:
        client.close()
    if json:
        emit_json({k: v for k, v in asdict(result).items() if k != "log"})
    else:
        out = console()
        out.print(
            table(
                "Sample training Job",
                ["namespace", "job", "result", "accuracy", "seconds"],
                [
                    [
                        result.namespace,
                        result.job,
                        "Complete" if result.succeeded else "[red]Failed[/red]",
                        f"{result.accuracy:.4f}" if result.accuracy is not None else "-",
                        f"{result.seconds:.1f}",
                    ]
                ],
            )
        )
    if not result.succeeded:
        raise Exit("kubedojo: the sample Job failed; its log:\n" + result.log[-2000:], code=1)


ns = Collection("cluster", up, down, status, kubeconfig, sample_job, build)
