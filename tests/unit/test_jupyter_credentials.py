"""Participants' JupyterHub credentials: class.setup gives each their own password (0600, kept across
setups) and writes only hashes into the hub's Secret, which kubedojo's authenticator (the file the hub
imports, run here with JupyterHub's and KubeSpawner's base classes stood in for) checks; removing a
participant removes their record. The spawner's choice of namespace is tested the same way. The real
hub logging a participant in and starting their server is tested in tests/cluster/test_jupyterhub.py."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import stat
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from kubedojo.addons.context import render_values
from kubedojo.addons.jupyterhub import (
    AUTHENTICATOR,
    NAMESPACES_KEY,
    SPAWNER,
    USERS_KEY,
    USERS_SECRET,
    class_hub_values,
)
from kubedojo.addons.releases import load_releases
from kubedojo.classroom.jupyter import merged_records, password_record, records_of, users_secret
from kubedojo.classroom.roster import Participant
from kubedojo.client.fake import FakeKube
from kubedojo.errors import ConfigError

from .test_orchestration_classroom import API_SLICE, admin_kubeconfig

REPO = Path(__file__).resolve().parents[2]
ASSET = REPO / "kubedojo" / "addons" / "assets" / "kubedojo_class_hub.py"


class ApiException(Exception):
    def __init__(self, status: int, body: str = "") -> None:
        self.status, self.body = status, body


@pytest.fixture(scope="module")
def hub_auth() -> Any:
    """The hub's module, loaded as the hub loads it, JupyterHub's Authenticator and KubeSpawner's base
    classes stood in for by plain traitlets classes (they run only in the hub's image)."""
    import traitlets.config

    class Authenticator(traitlets.config.LoggingConfigurable):
        allow_all = traitlets.Bool(False)

    class KubeSpawner(traitlets.config.LoggingConfigurable):
        """What ClassSpawner uses of KubeSpawner 7.0.0: the namespace the chart configures (the hub's),
        the names made from it, the saved state and the start."""

        namespace = traitlets.Unicode("jupyterhub")
        dns_name_template = traitlets.Unicode("{name}.{namespace}.svc.cluster.local")

        def __init__(self, user: Any, fail: int = 0, body: str = "", **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.user, self.fail, self.body = user, fail, body
            self.pod_name = f"jupyter-{user.name}"
            self.dns_name = self.dns_name_template.format(namespace=self.namespace, name=self.pod_name)

        def load_state(self, state: dict[str, str]) -> None:
            self.namespace = state.get("namespace", self.namespace)

        async def _start(self) -> str:
            if self.fail:
                raise ApiException(self.fail, self.body)
            return f"started in {self.namespace}"

    modules = {
        "jupyterhub": types.ModuleType("jupyterhub"),
        "jupyterhub.auth": types.ModuleType("jupyterhub.auth"),
        "kubespawner": types.ModuleType("kubespawner"),
        "kubernetes_asyncio": types.ModuleType("kubernetes_asyncio"),
        "kubernetes_asyncio.client": types.ModuleType("kubernetes_asyncio.client"),
        "kubernetes_asyncio.client.rest": types.ModuleType("kubernetes_asyncio.client.rest"),
    }
    modules["jupyterhub.auth"].Authenticator = Authenticator  # type: ignore[attr-defined]
    modules["kubespawner"].KubeSpawner = KubeSpawner  # type: ignore[attr-defined]
    modules["kubernetes_asyncio.client.rest"].ApiException = ApiException  # type: ignore[attr-defined]
    saved = {k: sys.modules.get(k) for k in modules}
    sys.modules.update(modules)
    try:
        spec = importlib.util.spec_from_file_location("kubedojo_class_hub", ASSET)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        for key, value in saved.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value


def test_a_record_kubedojo_writes_is_what_the_hub_checks(hub_auth: Any) -> None:
    record = password_record("correct horse", iterations=1000)
    assert hub_auth.password_matches(record, "correct horse")
    assert not hub_auth.password_matches(record, "correct horse ")
    assert not hub_auth.password_matches(record, "")
    for broken in ("", "plain", "md5$1$00$00", record.replace("$1000$", "$x$"), record[:-1] + "z"):
        assert not hub_auth.password_matches(broken, "correct horse"), broken


def test_the_authenticator_lets_in_only_a_name_with_its_own_password(hub_auth: Any, tmp_path: Path) -> None:
    asyncio.run(_logins(hub_auth, tmp_path))


async def _logins(hub_auth: Any, tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    users.write_text(
        json.dumps(
            {
                "ann": password_record("a-pass", iterations=1000),
                "bob": password_record("b-pass", iterations=1000),
            }
        )
    )
    auth = hub_auth.ClassAuthenticator(users_file=str(users))
    assert auth.allow_all  # only the file's names can authenticate at all
    assert await auth.authenticate(None, {"username": "ann", "password": "a-pass"}) == "ann"
    assert await auth.authenticate(None, {"username": "ann", "password": "b-pass"}) is None
    assert await auth.authenticate(None, {"username": "eve", "password": "a-pass"}) is None
    assert await auth.authenticate(None, {"username": "ann"}) is None
    users.write_text("not json")
    assert await auth.authenticate(None, {"username": "ann", "password": "a-pass"}) is None
    auth.users_file = str(tmp_path / "missing.json")
    assert await auth.authenticate(None, {"username": "ann", "password": "a-pass"}) is None


def test_records_merge_and_round_trip_through_the_secret() -> None:
    merged = merged_records({"ann": "r1", "bob": "r2"}, {"cid": "r3", "ann": "r4"}, ["bob"])
    assert merged == {"ann": "r4", "cid": "r3"}
    secret = users_secret("jupyterhub", merged, {"kubedojo.dev/class": "c"}, {"ann": "dojo-ann"})
    import base64

    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert secret["metadata"]["name"] == USERS_SECRET and records_of(data) == merged
    assert json.loads(data[NAMESPACES_KEY]) == {"ann": "dojo-ann"}
    assert (
        records_of(None) == {} and records_of({USERS_KEY: "[1]"}) == {} and records_of({USERS_KEY: "{"}) == {}
    )


def _room(fake: FakeKube, tmp_path: Path) -> Any:
    from kubedojo.classroom.service import Classroom
    from kubedojo.config import parse_config

    fake.put(API_SLICE)
    settings = parse_config({}).classroom
    return Classroom(
        fake,
        settings,
        admin_kubeconfig(tmp_path),
        tmp_path / "class",
        "dojo-",
        "c",
        jupyter_namespace="jupyterhub",
    )


def test_setup_gives_each_participant_a_password_kept_across_setups_and_removal_takes_it_back(
    hub_auth: Any, tmp_path: Path
) -> None:
    fake = FakeKube()
    room = _room(fake, tmp_path)
    report = room.setup([Participant("ann"), Participant("bob")], "t")
    passwords = {name: Path(path).read_text().strip() for name, path in report.jupyter_passwords.items()}
    assert set(passwords) == {"ann", "bob"} and passwords["ann"] != passwords["bob"]
    assert all(len(p) == 20 for p in passwords.values())
    for path in report.jupyter_passwords.values():
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600
    records = records_of(fake.read_secret("jupyterhub", USERS_SECRET))
    assert all(hub_auth.password_matches(records[n], p) for n, p in passwords.items())
    assert not any(p in json.dumps(records) for p in passwords.values())  # hashes only

    again = room.setup([Participant("ann"), Participant("cid")], "t")  # a late joiner
    assert Path(again.jupyter_passwords["ann"]).read_text().strip() == passwords["ann"]
    records = records_of(fake.read_secret("jupyterhub", USERS_SECRET))
    assert set(records) == {"ann", "bob", "cid"} and hub_auth.password_matches(
        records["ann"], passwords["ann"]
    )

    room.remove(["bob"], timeout=5)
    assert set(records_of(fake.read_secret("jupyterhub", USERS_SECRET))) == {"ann", "cid"}
    assert not (tmp_path / "class" / "bob" / "jupyter-password").exists()
    room.teardown(timeout=5)
    assert fake.read_secret("jupyterhub", USERS_SECRET) is None


def test_a_class_without_jupyterhub_gets_no_passwords(tmp_path: Path) -> None:
    from .test_orchestration_classroom import classroom

    fake = FakeKube()
    report = classroom(fake, tmp_path).setup([Participant("ann")], "t")
    assert report.jupyter_passwords == {} and fake.read_secret("jupyterhub", USERS_SECRET) is None


def test_the_shipped_release_mounts_the_authenticator_and_the_users_secret(tmp_path: Path) -> None:
    from kubedojo.addons.context import ClusterFacts

    release = load_releases(REPO / "charts" / "releases.yaml").get("jupyterhub")
    facts = ClusterFacts(kind="local", gpu_nodes=0, images={"jupyterhub-singleuser": "r/s:t"})
    values = render_values(release, REPO / "charts", facts)
    hub = values["hub"]
    assert hub["config"]["JupyterHub"]["authenticator_class"] == AUTHENTICATOR  # not the values' "null"
    assert hub["config"]["JupyterHub"]["spawner_class"] == SPAWNER
    # the servers, in participants' namespaces, call the hub by a name that says its namespace
    assert hub["config"]["JupyterHub"]["hub_connect_url"] == "http://hub.jupyterhub.svc:8081"
    assert hub["extraFiles"]["kubedojo-class-hub"]["stringData"] == ASSET.read_text()
    (volume,) = hub["extraVolumes"]
    assert volume["secret"] == {"secretName": USERS_SECRET, "optional": True}
    assert hub["config"]["ClassAuthenticator"]["users_file"].endswith(USERS_KEY)
    assert hub["config"]["ClassSpawner"]["namespaces_file"].endswith(NAMESPACES_KEY)
    assert class_hub_values("x")["hub"]["extraVolumeMounts"][0]["mountPath"] == "/usr/local/etc/kubedojo"
    # a server's memory limit is set, and fits a participant's LimitRange (max 4Gi) over its guarantee
    single = values["singleuser"]
    assert single["memory"]["limit"] == "1G" and single["memory"]["guarantee"] == "512M"
    assert single["storage"]["capacity"] == "1Gi"


def test_on_the_local_cluster_the_home_claim_is_handed_to_the_servers_user(tmp_path: Path) -> None:
    from kubedojo.addons.context import ClusterFacts

    release = load_releases(REPO / "charts" / "releases.yaml").get("jupyterhub")
    image = "10.244.0.1:5000/kubedojo/jupyterhub-singleuser:t"
    facts = ClusterFacts(kind="local", gpu_nodes=0, images={"jupyterhub-singleuser": image})
    (init,) = render_values(release, REPO / "charts", facts)["singleuser"]["initContainers"]
    assert init["image"] == image and init["command"] == ["chown", "1000:100", "/home/jovyan"]
    assert init["volumeMounts"] == [{"name": "volume-{user_server}", "mountPath": "/home/jovyan"}]
    site = ClusterFacts(kind="kubespray", gpu_nodes=0, images={"jupyterhub-singleuser": image})
    assert "initContainers" not in render_values(release, REPO / "charts", site)["singleuser"]
    with pytest.raises(ConfigError, match=r"jupyterhub: no image for singleuser.image"):
        render_values(release, REPO / "charts", ClusterFacts(kind="local", gpu_nodes=0))


def _spawner(hub_auth: Any, tmp_path: Path, name: str, **kwargs: Any) -> Any:
    namespaces = tmp_path / "namespaces.json"
    if not namespaces.exists():
        namespaces.write_text(json.dumps({"ann": "dojo-ann"}))
    user = types.SimpleNamespace(name=name)
    return hub_auth.ClassSpawner(user, namespaces_file=str(namespaces), **kwargs)


def test_a_participants_server_runs_in_their_namespace_never_the_hubs(hub_auth: Any, tmp_path: Path) -> None:
    ann = _spawner(hub_auth, tmp_path, "ann")
    assert ann.namespace == "dojo-ann" and ann.dns_name == "jupyter-ann.dojo-ann.svc.cluster.local"
    ann.load_state({"namespace": "jupyterhub"})  # an earlier server's state does not move it back
    assert ann.namespace == "dojo-ann"
    assert asyncio.run(ann._start()) == "started in dojo-ann"

    eve = _spawner(hub_auth, tmp_path, "eve")  # not in the class's namespaces: no server at all
    assert eve.namespace == "jupyterhub"
    with pytest.raises(RuntimeError, match="eve has no namespace in this class yet: ask the instructor"):
        asyncio.run(eve._start())
    (tmp_path / "namespaces.json").write_text(json.dumps({"ann": "dojo-ann", "eve": "dojo-eve"}))
    assert asyncio.run(eve._start()) == "started in dojo-eve"  # class.setup ran since


def test_a_spawn_the_hub_may_not_make_says_to_run_class_setup(hub_auth: Any, tmp_path: Path) -> None:
    with pytest.raises(
        RuntimeError, match=r"may not start servers in dojo-ann: ask the instructor to run class\.setup"
    ):
        asyncio.run(_spawner(hub_auth, tmp_path, "ann", fail=403)._start())
    quota = json.dumps(
        {
            "kind": "Status",
            "message": 'pods "jupyter-ann" is forbidden: exceeded quota: kubedojo-quota, requested: pods=1',
        }
    )
    with pytest.raises(
        RuntimeError, match=r"no room in dojo-ann's quota for your server \(pods .* is forbidden"
    ):
        asyncio.run(_spawner(hub_auth, tmp_path, "ann", fail=403, body=quota)._start())
    with pytest.raises(ApiException):  # anything else is KubeSpawner's to report
        asyncio.run(_spawner(hub_auth, tmp_path, "ann", fail=500)._start())
