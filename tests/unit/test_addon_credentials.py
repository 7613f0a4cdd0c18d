"""Generated add-on credentials: letters and digits only (a value beginning with ``-`` is read as an
option by ``mc``), kept across installs, made anew when an earlier one cannot be used."""

from __future__ import annotations

import base64
import string
from pathlib import Path

from kubedojo.addons.credentials import ensure_credentials, random_value, usable
from kubedojo.addons.releases import Release, parse_releases
from kubedojo.client.fake import FakeKube

from .test_addons import rel


def _release() -> Release:
    data = {"releases": [rel("minio", credentials=[{"secret": "root", "generate": {"password": 32}}])]}
    return parse_releases(data, Path("releases.yaml")).releases[0]


def _stored(fake: FakeKube, value: str) -> None:
    fake.put(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "root", "namespace": "ns"},
            "data": {"password": base64.b64encode(value.encode()).decode()},
        }
    )


def test_random_values_are_letters_and_digits_of_the_length_asked() -> None:
    values = [random_value(16) for _ in range(2000)]
    assert all(len(v) == 16 and set(v) <= set(string.ascii_letters + string.digits) for v in values)
    assert len(set(values)) == 2000
    assert not any(v.startswith("-") for v in values)


def test_a_usable_stored_value_is_kept() -> None:
    fake = FakeKube()
    _stored(fake, "Abc123" * 6)
    assert ensure_credentials(fake, _release(), token=lambda n: "x" * n) == ["ns/root: kept"]


def test_a_stored_value_read_as_an_option_is_made_anew() -> None:
    fake = FakeKube()
    _stored(fake, "-" + "a" * 31)
    assert not usable("-" + "a" * 31)
    done = ensure_credentials(fake, _release(), token=lambda n: "N" * n)
    assert done == ["ns/root: updated"]
    secret = fake.get("Secret", "root", "ns")
    assert secret["stringData"]["password"] == "N" * 32
