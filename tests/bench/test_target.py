"""Load tests stay on this machine unless told otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.toolkit.cli import main
from benchmarks.toolkit.scenario import RemoteTargetRefused, Target, is_loopback
from tests.services import free_port


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.4.5", "localhost", "::1", "[::1]", "app.localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.2", "example.com", "0.0.0.0", "mixillo.live"])
def test_other_hosts(host: str) -> None:
    assert not is_loopback(host)


def test_remote_target_needs_allow_remote() -> None:
    with pytest.raises(RemoteTargetRefused, match="--allow-remote"):
        Target.parse("https://api.mixillo.live")
    assert Target.parse("https://api.mixillo.live:8443/x", allow_remote=True).base == "https://api.mixillo.live:8443"
    assert Target.parse("http://127.0.0.1:8080/").base == "http://127.0.0.1:8080"
    with pytest.raises(ValueError, match="http"):
        Target.parse("ftp://127.0.0.1/")


def test_target_url_keeps_path_and_query_of_server_urls() -> None:
    target = Target("http://127.0.0.1:9000")
    assert target.url("http://0.0.0.0:8080/whep/abc?x=1") == "http://127.0.0.1:9000/whep/abc?x=1"
    assert target.url("/hls/live/a/master.m3u8") == "http://127.0.0.1:9000/hls/live/a/master.m3u8"


def test_cli_refuses_a_remote_target_before_any_request(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["api", "--target", "http://203.0.113.7:8080", "--duration", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "refusing to load-test 203.0.113.7" in err and "--allow-remote" in err


def test_unknown_name_lists_what_exists(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nope"]) == 2
    err = capsys.readouterr().err
    assert "no scenario or script named 'nope'" in err and "sfu_fanout" in err and "api-script" in err


def test_no_server_is_a_message_not_a_traceback(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    assert main(["api", "--target", f"http://127.0.0.1:{port}", "--duration", "1", "--quiet", "--out",
                 str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mixillo bench api: ClientConnectorError") and f"127.0.0.1:{port}" in err
    assert not list(tmp_path.iterdir())  # no result for a run that did not happen
