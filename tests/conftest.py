"""Fixtures for every test layer. Sockets: loopback only everywhere; none at all in unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import responses
from moto import mock_aws
from moto.server import ThreadedMotoServer
from pytest_socket import disable_socket, socket_allow_hosts

from tests.emulator import GeckoEmulator
from tests.support.responses_adapter import install
from tests.support.secrets_manager import REGION, aws_strict_put

TESTS = Path(__file__).parent
NO_SOCKET_DIRS = (TESTS / "unit", TESTS / "functional")


@pytest.fixture(autouse=True)
def _network_guard(request: pytest.FixtureRequest) -> None:
    """Unit and functional tests open no socket; the others may reach loopback only."""
    path = Path(str(request.node.path))
    if any(path.is_relative_to(d) for d in NO_SOCKET_DIRS):
        disable_socket(allow_unix_socket=True)
    else:
        socket_allow_hosts(["127.0.0.1", "::1", "localhost"], allow_unix_socket=True)


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, so no test can touch a real account."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)


@pytest.fixture
def sm() -> Iterator[object]:
    """An in-process moto Secrets Manager that refuses overwrites as AWS does."""
    with mock_aws(), aws_strict_put():
        yield boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def emulator() -> GeckoEmulator:
    return GeckoEmulator()


@pytest.fixture
def gecko_http(emulator: GeckoEmulator) -> Iterator[GeckoEmulator]:
    """The emulator behind `responses`: every requests call goes to it, none to the network."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        install(rsps, emulator)
        yield emulator


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's server on a free loopback port, over real HTTP; yields its endpoint URL.

    It shares moto's in-process backends, so tests/support/secrets_manager works on it too.
    """
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
