"""``invoke cluster.*``: bring the cluster up, down, and look at it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from invoke.collection import Collection
from invoke.context import Context

from .support import (
    RichReporter,
    confirm,
    console,
    emit_json,
    mapping_rows,
    project_dir,
    settings,
    site_dir,
    table,
    task,
)

_INVENTORY = "an on-prem site directory (inventory/<site>)"


def _local(c: Context, reporter: Any = None) -> Any:
    from ..local.provider import LocalCluster

    return LocalCluster(settings(c), reporter=reporter)


def _site(c: Context, inventory: str, quiet: bool = False) -> Any:
    from ..onprem.cluster import OnpremCluster
    from .onprem_view import RichPlaybookWatcher

    return OnpremCluster(
        site_dir(c, inventory),
        settings(c),
        project_dir(c),
        watcher=RichPlaybookWatcher(quiet),
        reporter=RichReporter(quiet),
    )


def _print_preflight(report: Any) -> None:
    from .onprem_view import preflight_details, preflight_table

    out = console()
    out.print(preflight_table(report))
    for line in preflight_details(report):
        out.print(f"  {line}")


def _preflight_json(report: Any) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "seconds": round(report.seconds, 1),
        "artifacts": report.artifact_dir,
        "hosts": {
            h.host: {r.check: {"status": r.status, "detail": r.detail} for r in h.results}
            for h in report.hosts
        },
    }


def _run_json(run: Any) -> dict[str, Any]:
    data: dict[str, Any] = run.as_dict()
    return data


def _onprem_result(report: Any, json: bool, done: str) -> None:
    """Print what an on-prem operation did: preflight, each run's recap, the kubeconfig."""
    from .onprem_view import recap_table

    if json:
        emit_json(
            {
                "preflight": _preflight_json(report.preflight) if report.preflight else None,
                "runs": [_run_json(r) for r in report.runs],
                "kubeconfig": report.kubeconfig or None,
                "kubespray": report.kubespray,
                "kubernetes_version": report.kubernetes_version or None,
            }
        )
        return
    out = console()
    if report.preflight is not None:
        _print_preflight(report.preflight)
    for run in report.runs:
        out.print(recap_table(run))
    out.print(done)


def _onprem_up(c: Context, inventory: str, dry_run: bool, skip_preflight: bool, json: bool) -> None:
    from ..onprem.cluster import PreflightFailed

    site = _site(c, inventory, quiet=json)
    try:
        report = site.up(dry_run=dry_run, skip_preflight=skip_preflight)
    except PreflightFailed as exc:
        if json:
            emit_json({"preflight": _preflight_json(exc.report), "error": str(exc)})
        else:
            _print_preflight(exc.report)
        raise
    if dry_run:
        done = (
            f"Dry run: the site is valid and preflight passed; 'invoke cluster.up -i {inventory}' would run "
            f"kubespray's cluster.yml from {report.kubespray} with {site.inventory.hosts_file}, "
            f"installing Kubernetes {report.kubernetes_version}."
        )
    else:
        done = (
            f"Site '{site.name}' is provisioned with Kubernetes {report.kubernetes_version}. "
            f"Kubeconfig: {report.kubeconfig}"
        )
    _onprem_result(report, json, done)


@task(
    help={
        "inventory": _INVENTORY + "; without it, the local cluster",
        "sim_nodes": "local cluster: simulated nodes per pool, e.g. gpu=2,train-cpu=1 (pools: workshop.yaml)",
        "dry_run": "on-prem: stop after validating the site and preflight",
        "skip_preflight": "on-prem: run kubespray without preflight first",
        "json": "print the result as JSON",
    }
)
def up(
    c: Context,
    inventory: str = "",
    sim_nodes: str = "",
    dry_run: bool = False,
    skip_preflight: bool = False,
    json: bool = False,
) -> None:
    """Start the local cluster, or provision an on-prem site with kubespray (-i inventory/<site>)."""
    from ..errors import ConfigError
    from ..local.simnodes import parse_sim_nodes

    if inventory:
        if sim_nodes:
            raise ConfigError("--sim-nodes is for the local cluster; an on-prem site has real nodes")
        _onprem_up(c, inventory, dry_run, skip_preflight, json)
        return
    if dry_run or skip_preflight:
        raise ConfigError("--dry-run and --skip-preflight are for on-prem sites (-i inventory/<site>)")
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
                "warnings": report.warnings,
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
    _print_warnings(report.warnings)


def _print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        from rich.markup import escape

        console(stderr=True).print(f"[yellow]Warning:[/yellow] {escape(warning)}")


@task(help={"json": "print the result as JSON"})
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


@task(help={"inventory": _INVENTORY + "; without it, the local cluster", "json": "print the status as JSON"})
def status(c: Context, inventory: str = "", json: bool = False) -> None:
    """Each component's health and the nodes; exits 1 when the cluster is not healthy."""
    from invoke.exceptions import Exit

    state = _site(c, inventory).status() if inventory else _local(c).status()
    if json:
        emit_json({**asdict(state), "healthy": state.healthy})
    else:
        out = console()
        out.print(
            table(
                f"Components ({state.state_dir})",
                ["component", "pid", "health", "restarts", "log"],
                [
                    [
                        s.name,
                        str(s.pid or "-"),
                        "[green]healthy[/green]" if s.healthy else "[red]down[/red]",
                        str(s.restarts),
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
        _print_warnings(state.warnings)
    if not state.healthy:
        raise Exit(code=1)


@task(help={"inventory": _INVENTORY + "; without it, the local cluster", "json": "print as JSON"})
def kubeconfig(c: Context, inventory: str = "", json: bool = False) -> None:
    """Print the path of the admin kubeconfig (mode 0600), for KUBECONFIG=... kubectl."""
    from ..errors import NotRunningError

    if inventory:
        path = _site(c, inventory).kubeconfig_path
        if not path.exists():
            raise NotRunningError(f"{path} does not exist yet: run 'invoke cluster.up -i {inventory}' first")
        if json:
            emit_json({"kubeconfig": str(path)})
        else:
            print(path)
        return
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


@task(help={"inventory": _INVENTORY, "json": "print the report as JSON"})
def preflight(c: Context, inventory: str, json: bool = False) -> None:
    """Check every machine of a site (SSH, sudo, OS, swap, ports, time, NFS, GPU driver); changes nothing."""
    from invoke.exceptions import Exit

    report = _site(c, inventory, quiet=json).preflight()
    if json:
        emit_json(_preflight_json(report))
    else:
        _print_preflight(report)
    if not report.ok:
        raise Exit(f"kubedojo: preflight failed: {report.summary()}", code=1)


@task(
    help={
        "inventory": _INVENTORY,
        "node": "the new worker(s) in site.yaml, comma-separated; empty: every node",
        "skip_preflight": "do not run preflight on them first",
        "json": "print the result as JSON",
    }
)
def scale(
    c: Context, inventory: str, node: str = "", skip_preflight: bool = False, json: bool = False
) -> None:
    """Add workers listed in site.yaml to the site's cluster (kubespray's scale.yml)."""
    site = _site(c, inventory, quiet=json)
    nodes = [n for n in node.split(",") if n]
    report = site.scale(nodes, skip_preflight=skip_preflight)
    _onprem_result(report, json, f"Added {', '.join(nodes) or 'every worker'} to site '{site.name}'.")


@task(
    name="remove-node",
    help={
        "inventory": _INVENTORY,
        "node": "the node(s) to drain and remove, comma-separated",
        "dead": "the node no longer answers: skip draining gracefully and resetting it",
        "yes": "do not ask",
        "json": "print the result as JSON",
    },
)
def remove_node(
    c: Context, inventory: str, node: str, dead: bool = False, yes: bool = False, json: bool = False
) -> None:
    """Drain and remove nodes from the site's cluster (kubespray's remove-node.yml)."""
    from .onprem_view import recap_table

    site = _site(c, inventory, quiet=json)
    nodes = [n for n in node.split(",") if n]
    confirm(f"Drain and remove {', '.join(nodes)} from site '{site.name}'?", yes or json)
    run = site.remove_node(nodes, dead=dead)
    if json:
        emit_json(_run_json(run))
        return
    console().print(recap_table(run))
    console().print(f"Removed {', '.join(nodes)}; now delete them from {site.site_dir / 'site.yaml'}.")


@task(help={"inventory": _INVENTORY, "yes": "do not ask", "json": "print the result as JSON"})
def reset(c: Context, inventory: str, yes: bool = False, json: bool = False) -> None:
    """Remove Kubernetes from every machine of the site (kubespray's reset.yml). Destroys all workloads."""
    from .onprem_view import recap_table

    site = _site(c, inventory, quiet=json)
    confirm(
        f"Remove Kubernetes and all its data from the {len(site.site.nodes)} machines of '{site.name}'?", yes
    )
    run = site.reset()
    if json:
        emit_json(_run_json(run))
        return
    console().print(recap_table(run))
    console().print(f"Site '{site.name}' is reset; its kubeconfig was removed.")


@task(
    help={
        "inventory": _INVENTORY,
        "version": "the Kubernetes version to reach (default: the pinned one)",
        "json": "print the result as JSON",
    }
)
def upgrade(c: Context, inventory: str, version: str = "", json: bool = False) -> None:
    """Upgrade the site's Kubernetes node by node (kubespray's upgrade-cluster.yml)."""
    from .onprem_view import recap_table

    site = _site(c, inventory, quiet=json)
    run = site.upgrade(version)
    if json:
        emit_json(_run_json(run))
        return
    console().print(recap_table(run))
    console().print(f"Site '{site.name}' is upgraded.")


ns = Collection(
    "cluster", up, down, status, kubeconfig, sample_job, build, preflight, scale, remove_node, reset, upgrade
)
