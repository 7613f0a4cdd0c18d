"""Setting up, changing and tearing down a class on a cluster, as the instructor."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..addons.jupyterhub import USERS_SECRET
from ..addons.releases import Release
from ..client.kubeapi import KubeAPI
from ..config import ClassSettings
from ..errors import ApiError, ClusterError, ConfigError
from ..files import write_atomic
from ..kubeconfig import render_kubeconfig
from ..labels import CLASS_LABEL
from ..labs.definition import LabDefinition
from ..labs.nodevolumes import provide_node_volumes, remove_node_volumes
from ..labs.services import LabServices
from .handout import render_handout
from .jupyter import merged_records, new_password, password_record, records_of, users_secret
from .objects import (
    NODE_READER,
    SERVICE_ACCOUNT,
    ApiEndpoint,
    api_endpoints,
    cluster_objects,
    node_binding_name,
    participant_objects,
)
from .roster import Participant

__all__ = ["Classroom", "SetupReport"]


@dataclass
class SetupReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kubeconfigs: dict[str, str] = field(default_factory=dict)
    handout: str = ""
    services: list[str] = field(default_factory=list)
    """What was made of kubedojo's services the labs use (object-store accounts, the webhook)."""
    jupyter_passwords: dict[str, str] = field(default_factory=dict)
    """Each participant's Jupyter password file, when the class has JupyterHub."""


def _admin_cluster(admin_kubeconfig: Path) -> tuple[str, str]:
    """(server, base64 CA) from the instructor's kubeconfig, for participants' kubeconfigs."""
    data = yaml.safe_load(admin_kubeconfig.read_text())
    contexts = {c["name"]: c["context"] for c in data.get("contexts") or []}
    context = contexts.get(data.get("current-context"), next(iter(contexts.values()), {}))
    clusters = {c["name"]: c["cluster"] for c in data.get("clusters") or []}
    cluster = clusters.get(context.get("cluster"), next(iter(clusters.values()), {}))
    ca = cluster.get("certificate-authority-data")
    if not ca and cluster.get("certificate-authority"):
        ca = base64.b64encode(Path(cluster["certificate-authority"]).read_bytes()).decode()
    if not cluster.get("server") or not ca:
        raise ConfigError(f"{admin_kubeconfig}: no cluster server and CA to give participants")
    return str(cluster["server"]), str(ca)


class Classroom:
    """One class on one cluster. Participants get namespace ``<prefix><name>``, a ServiceAccount
    ``participant`` there, a time-limited token for it (TokenRequest) and a kubeconfig with it."""

    def __init__(
        self,
        client: KubeAPI,
        settings: ClassSettings,
        admin_kubeconfig: Path,
        output: Path,
        namespace_prefix: str,
        class_name: str = "workshop",
        services: LabServices | None = None,
        addons: Sequence[Release] = (),
        jupyter_namespace: str | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.admin_kubeconfig = admin_kubeconfig
        self.output = output
        self.prefix = namespace_prefix
        self.class_name = class_name
        self.services = services
        """kubedojo's services the labs use (:mod:`kubedojo.labs.services`); None: not made here."""
        self.addons = list(addons)
        """The add-ons' releases, for what of them participants' pods may reach
        (:func:`~.objects.network_policies`)."""
        self.jupyter_namespace = jupyter_namespace
        """JupyterHub's namespace when the class has it: each participant gets a Jupyter password
        (:mod:`.jupyter`); None: no JupyterHub."""

    def namespace(self, name: str) -> str:
        return self.prefix + name

    def kubeconfig_path(self, name: str) -> Path:
        return self.output / name / "kubeconfig"

    def jupyter_password_path(self, name: str) -> Path:
        return self.output / name / "jupyter-password"

    # -- setup -------------------------------------------------------------------------------

    def setup(
        self, people: Iterable[Participant], title: str, labs: Iterable[LabDefinition] = ()
    ) -> SetupReport:
        """Create or update every participant (idempotent); fresh credentials for each; the node
        directories the ``labs`` give each participant (:mod:`kubedojo.labs.nodevolumes`)."""
        every_lab = list(labs)
        uses = {use for lab in every_lab for use in lab.uses}
        labs = [lab for lab in every_lab if lab.node_volumes]
        people = list(people)
        report = SetupReport()
        existing = set(self.participants())
        server, ca = _admin_cluster(self.admin_kubeconfig)
        server = self.settings.server or server
        self.client.apply(cluster_objects())
        endpoints = self._api_endpoints()
        for person in people:
            namespace = self.namespace(person.name)
            changed = self.client.apply(
                participant_objects(person, namespace, self.settings, self.class_name, endpoints, self.addons)
            )
            for lab in labs:
                changed += provide_node_volumes(self.client, lab, namespace)
            if person.name not in existing:
                report.added.append(person.name)
            elif changed:
                report.updated.append(person.name)
            else:
                report.unchanged.append(person.name)
            token = self._token(namespace)
            path = self.kubeconfig_path(person.name)
            kubeconfig = render_kubeconfig(
                server,
                ca,
                person.name,
                token=token,
                cluster="workshop",
                context=person.name,
                namespace=namespace,
            )
            write_atomic(path, kubeconfig, 0o600, 0o700)
            report.kubeconfigs[person.name] = str(path)
        if self.jupyter_namespace is not None:
            self._jupyter_passwords(people, report)
        if self.services is not None and "s3-account" in uses:
            try:
                made = self.services.accounts({self.namespace(p.name): p.name for p in people})
                report.services.append(f"object-store accounts: {len(made)}")
            except ConfigError as exc:  # no MinIO (yet): the labs that use it say so when run
                report.services.append(f"object-store accounts: not made ({exc})")
        if self.services is not None and "datasets" in uses:
            try:
                self.services.datasets()
                report.services.append("datasets: in the object store")
            except ConfigError as exc:
                report.services.append(f"datasets: not there ({exc})")
        if self.services is not None and "webhook" in uses:
            project = next(iter(lab.project for lab in every_lab))
            self.services.webhook(project)
            report.services.append("webhook receiver: running")
        everyone = sorted({*existing, *(p.name for p in people)})
        handout = self.output / "handout.html"
        roster = {p.name: p for p in people}
        write_atomic(
            handout,
            render_handout(
                title,
                [roster.get(n, Participant(n)) for n in everyone],
                self.namespace,
                self.settings.token_hours,
            ),
            0o600,
            0o700,
        )
        report.handout = str(handout)
        return report

    def _jupyter_passwords(self, people: list[Participant], report: SetupReport) -> None:
        """A Jupyter password each (kept from an earlier setup), and their hashes in the hub's Secret."""
        assert self.jupyter_namespace is not None
        records = {}
        for person in people:
            path = self.jupyter_password_path(person.name)
            password = path.read_text().strip() if path.is_file() else ""
            if not password:
                password = new_password()
                write_atomic(path, password + "\n", 0o600, 0o700)
            records[person.name] = password_record(password)
            report.jupyter_passwords[person.name] = str(path)
        self._write_jupyter_records(records, ())

    def _write_jupyter_records(self, add: dict[str, str], remove: Iterable[str]) -> None:
        assert self.jupyter_namespace is not None
        self.client.ensure_namespace(self.jupyter_namespace)
        current = records_of(self.client.read_secret(self.jupyter_namespace, USERS_SECRET))
        labels = {CLASS_LABEL: self.class_name}
        merged = merged_records(current, add, remove)
        namespaces = {name: self.namespace(name) for name in merged}
        self.client.apply([users_secret(self.jupyter_namespace, merged, labels, namespaces)])

    def _api_endpoints(self) -> list[ApiEndpoint]:
        """Where the API server receives pods' requests, which their NetworkPolicy must allow: read
        from the cluster at every setup (a site's control plane may have moved since)."""
        slices = self.client.list(
            "EndpointSlice", "default", label_selector="kubernetes.io/service-name=kubernetes"
        )
        found = api_endpoints(slices)
        if not found:
            raise ClusterError(
                "the Service default/kubernetes has no endpoints (no EndpointSlice names the API "
                "server): participants' NetworkPolicies could not let their pods reach it"
            )
        return found

    def _token(self, namespace: str) -> str:
        try:
            return self.client.request_token(namespace, SERVICE_ACCOUNT, self.settings.token_hours * 3600)
        except ApiError as exc:
            raise ClusterError(f"cannot issue a token in {namespace}: {exc.server_message}") from None

    # -- who is in the class -----------------------------------------------------------------

    def participants(self) -> dict[str, str]:
        """participant name → namespace, for every namespace this class created."""
        out = {}
        for ns in self.client.list("Namespace", label_selector=f"{CLASS_LABEL}={self.class_name}"):
            name = (ns["metadata"].get("labels") or {}).get("kubedojo.dev/participant")
            if name:
                out[name] = ns["metadata"]["name"]
        return out

    # -- removing ----------------------------------------------------------------------------

    def remove(self, names: Iterable[str], timeout: float = 180.0) -> list[str]:
        """Delete the participants' namespaces (only ones this class created) and their files."""
        known = self.participants()
        removed = []
        for name in names:
            if name not in known:
                raise ConfigError(
                    f"{name!r} is not a participant of this class ('invoke class.status' lists them)"
                )
        for name in names:
            self.client.delete("ClusterRoleBinding", node_binding_name(known[name]))
            remove_node_volumes(self.client, known[name])
            self.client.delete("Namespace", known[name])
            removed.append(name)
        if self.jupyter_namespace is not None and names:
            self._write_jupyter_records({}, names)
        for name in names:
            self._wait_namespace_gone(known[name], timeout)
            for path in (self.kubeconfig_path(name), self.jupyter_password_path(name)):
                path.unlink(missing_ok=True)
            with_dir = self.output / name
            if with_dir.is_dir() and not any(with_dir.iterdir()):
                with_dir.rmdir()
        return removed

    def teardown(self, timeout: float = 300.0) -> list[str]:
        removed = self.remove(sorted(self.participants()), timeout)
        (self.output / "handout.html").unlink(missing_ok=True)
        if self.jupyter_namespace is not None and not records_of(
            self.client.read_secret(self.jupyter_namespace, USERS_SECRET)
        ):
            self.client.delete("Secret", USERS_SECRET, self.jupyter_namespace)  # no class's records left
        bindings = self.client.list("ClusterRoleBinding")
        if not any(b.get("roleRef", {}).get("name") == NODE_READER for b in bindings):
            self.client.delete("ClusterRole", NODE_READER)  # no class uses it any more
        return removed

    def _wait_namespace_gone(self, namespace: str, timeout: float) -> None:
        self.client.wait_deleted("Namespace", namespace, None, timeout)
