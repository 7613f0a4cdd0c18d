"""The local cluster's PKI: certificate authorities, serving and client certificates, and the
service-account signing key, made with ``cryptography``.

Re-running is idempotent: an existing CA is reused; a leaf certificate is reissued only when it is
missing, no longer matches its specification (subject, names, issuer) or expires within 30 days.
Private keys are written with mode 0600 in a 0700 directory.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertSpec", "Pki", "cluster_cert_specs"]

_VALIDITY = dt.timedelta(days=365)
_CA_VALIDITY = dt.timedelta(days=3650)
_RENEW_BEFORE = dt.timedelta(days=30)

PrivateKey = ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class CertSpec:
    """A leaf certificate: who it names, where it is valid and which CA signs it."""

    name: str
    """File stem: ``<name>.crt`` and ``<name>.key``."""
    ca: str
    common_name: str
    organizations: tuple[str, ...] = ()
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    server: bool = False
    client: bool = False


def cluster_cert_specs(node_name: str, node_ip: str, api_service_ip: str) -> list[CertSpec]:
    """Every certificate the local cluster uses."""
    api_names = (
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "localhost",
        node_name,
    )
    return [
        CertSpec(
            "apiserver",
            "ca",
            "kube-apiserver",
            dns_names=api_names,
            ip_addresses=("127.0.0.1", node_ip, api_service_ip),
            server=True,
        ),
        CertSpec(
            "apiserver-kubelet-client",
            "ca",
            "kube-apiserver-kubelet-client",
            ("system:masters",),
            client=True,
        ),
        CertSpec("apiserver-etcd-client", "etcd-ca", "kube-apiserver-etcd-client", client=True),
        CertSpec(
            "etcd-server",
            "etcd-ca",
            "etcd",
            dns_names=("localhost",),
            ip_addresses=("127.0.0.1",),
            server=True,
            client=True,
        ),
        CertSpec("front-proxy-client", "front-proxy-ca", "front-proxy-client", client=True),
        CertSpec("admin", "ca", "kubedojo-admin", ("system:masters",), client=True),
        CertSpec("controller-manager", "ca", "system:kube-controller-manager", client=True),
        CertSpec("scheduler", "ca", "system:kube-scheduler", client=True),
        CertSpec("kube-proxy", "ca", "system:kube-proxy", client=True),
        CertSpec("kubelet-client", "ca", f"system:node:{node_name}", ("system:nodes",), client=True),
        CertSpec(
            "kubelet-server",
            "ca",
            node_name,
            dns_names=(node_name, "localhost"),
            ip_addresses=(node_ip, "127.0.0.1"),
            server=True,
        ),
        CertSpec("kwok", "ca", "kubedojo:kwok", ("system:masters",), client=True),
        # The NetworkPolicy enforcer: no group, only what its ClusterRole grants (local/netpolicy.py).
        CertSpec("kube-network-policies", "ca", "system:kube-network-policies", client=True),
    ]


CA_NAMES = ("ca", "etcd-ca", "front-proxy-ca")


class Pki:
    """A directory of certificates: ``<name>.crt``/``<name>.key`` for each CA and leaf."""

    def __init__(self, directory: Path, now: dt.datetime | None = None) -> None:
        self.dir = directory
        self._now = now

    def now(self) -> dt.datetime:
        return self._now or dt.datetime.now(dt.UTC)

    def cert_path(self, name: str) -> Path:
        return self.dir / f"{name}.crt"

    def key_path(self, name: str) -> Path:
        return self.dir / f"{name}.key"

    def ensure(self, specs: Iterable[CertSpec]) -> list[str]:
        """Create or renew what is missing or stale; returns the names written."""
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        written: list[str] = []
        for ca in CA_NAMES:
            if not self._valid_ca(ca):
                self._write_ca(ca)
                written.append(ca)
        if not self.key_path("sa").exists():
            self._write_key("sa", ec.generate_private_key(ec.SECP256R1()))
            public = self._load_key("sa").public_key()
            self.dir.joinpath("sa.pub").write_bytes(
                public.public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
            written.append("sa")
        for spec in specs:
            if not self._matches(spec):
                self._issue(spec)
                written.append(spec.name)
        return written

    # -- reading -----------------------------------------------------------------------------

    def load_cert(self, name: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_path(name).read_bytes())

    def _load_key(self, name: str) -> PrivateKey:
        key = serialization.load_pem_private_key(self.key_path(name).read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError(f"{self.key_path(name)} is not an EC key")
        return key

    def _valid_ca(self, name: str) -> bool:
        if not (self.cert_path(name).exists() and self.key_path(name).exists()):
            return False
        cert = self.load_cert(name)
        return cert.not_valid_after_utc - _RENEW_BEFORE > self.now()

    def _matches(self, spec: CertSpec) -> bool:
        if not (self.cert_path(spec.name).exists() and self.key_path(spec.name).exists()):
            return False
        cert = self.load_cert(spec.name)
        ca = self.load_cert(spec.ca)
        if cert.issuer != ca.subject or cert.not_valid_after_utc - _RENEW_BEFORE <= self.now():
            return False
        try:
            cert.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature):
            return False
        if cert.subject != _name(spec.common_name, spec.organizations):
            return False
        return _sans(cert) == (set(spec.dns_names), set(spec.ip_addresses))

    # -- writing -----------------------------------------------------------------------------

    def _write_key(self, name: str, key: PrivateKey) -> None:
        path = self.key_path(name)
        data = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(path.with_suffix(".tmp"), path)

    def _builder(
        self,
        subject: x509.Name,
        issuer: x509.Name,
        public_key: ec.EllipticCurvePublicKey,
        validity: dt.timedelta,
        ca: bool,
    ) -> x509.CertificateBuilder:
        """What every certificate here shares: names, key, validity, constraints and key usage."""
        now = self.now()
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + validity)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=ca,
                    crl_sign=ca,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        )

    def _write_ca(self, name: str) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(f"kubedojo-{name}")
        cert = (
            self._builder(subject, subject, key.public_key(), _CA_VALIDITY, ca=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        self._write_key(name, key)
        self.cert_path(name).write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def _issue(self, spec: CertSpec) -> None:
        ca_cert = self.load_cert(spec.ca)
        ca_key = self._load_key(spec.ca)
        key = ec.generate_private_key(ec.SECP256R1())
        usages = []
        if spec.server:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        if spec.client:
            usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        subject = _name(spec.common_name, spec.organizations)
        builder = (
            self._builder(subject, ca_cert.subject, key.public_key(), _VALIDITY, ca=False)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in spec.dns_names]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in spec.ip_addresses]
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        self._write_key(spec.name, key)
        self.cert_path(spec.name).write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _name(common_name: str, organizations: Sequence[str] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _sans(cert: x509.Certificate) -> tuple[set[str], set[str]]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    dns = set(ext.get_values_for_type(x509.DNSName))
    ips = {str(ip) for ip in ext.get_values_for_type(x509.IPAddress)}
    return dns, ips
