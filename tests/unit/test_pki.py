from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubedojo.local.pki import Pki, cluster_cert_specs

SPECS = cluster_cert_specs("kubedojo", "10.244.0.1", "10.96.0.1")


def _sans(cert: x509.Certificate) -> tuple[set[str], set[str]]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(ext.get_values_for_type(x509.DNSName)), {
        str(i) for i in ext.get_values_for_type(x509.IPAddress)
    }


def test_issues_every_certificate_signed_by_its_ca_with_private_keys(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    written = pki.ensure(SPECS)
    assert {"ca", "etcd-ca", "front-proxy-ca", "sa"} <= set(written)
    assert stat.S_IMODE((tmp_path / "pki").stat().st_mode) == 0o700
    for spec in SPECS:
        cert = pki.load_cert(spec.name)
        cert.verify_directly_issued_by(pki.load_cert(spec.ca))
        assert stat.S_IMODE(pki.key_path(spec.name).stat().st_mode) == 0o600
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == spec.common_name

    dns, ips = _sans(pki.load_cert("apiserver"))
    assert {"kubernetes.default.svc.cluster.local", "kubedojo"} <= dns
    assert {"10.244.0.1", "10.96.0.1", "127.0.0.1"} <= ips
    usage = pki.load_cert("apiserver").extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage
    node = pki.load_cert("kubelet-client").subject
    assert node.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:nodes"
    assert node.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:node:kubedojo"


def test_second_run_changes_nothing_and_a_new_address_reissues_only_what_names_it(tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    pki.ensure(SPECS)
    ca_before = pki.cert_path("ca").read_bytes()
    assert pki.ensure(SPECS) == []
    moved = cluster_cert_specs("kubedojo", "10.250.0.1", "10.96.0.1")
    assert sorted(pki.ensure(moved)) == ["apiserver", "kubelet-server"]
    assert pki.cert_path("ca").read_bytes() == ca_before


def test_certificates_near_expiry_are_renewed(tmp_path: Path) -> None:
    Pki(tmp_path).ensure(SPECS)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=340)
    renewed = Pki(tmp_path, now=later).ensure(SPECS)
    assert set(renewed) == {spec.name for spec in SPECS}
