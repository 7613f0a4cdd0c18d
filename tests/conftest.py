import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "disruptive: kills or stops parts of the shared test cluster")
    config.addinivalue_line("markers", "final: must be the last test of the session")
    config.addinivalue_line(
        "markers", "uninstalls: removes an add-on the session shares: after the other tests of the add-ons"
    )
