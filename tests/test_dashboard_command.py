"""``ent-equity dashboard``: the Streamlit command it builds listens on 127.0.0.1 unless ``--address`` says
otherwise, serves the app through the download guard, and keeps XSRF protection on."""

from __future__ import annotations

import pytest

from pipelines import cli


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


@pytest.fixture
def started(monkeypatch):
    commands = []
    monkeypatch.setattr(cli.subprocess, "call", lambda command: commands.append(command) or 0)
    return commands


def test_the_dashboard_listens_on_loopback_by_default(started, capsys):
    assert cli.main(["dashboard"]) == 0
    (command,) = started
    assert _option(command, "--server.address") == "127.0.0.1"
    assert _option(command, "--server.port") == "8501"
    assert _option(command, "--server.enableXsrfProtection") == "true"
    assert command[command.index("run") + 1] == str(cli.PROJECT_ROOT / "dashboards" / "server.py")
    assert "http://127.0.0.1:8501" in capsys.readouterr().out


def test_another_address_only_when_asked(started, capsys):
    assert cli.main(["dashboard", "--address", "0.0.0.0", "--port", "9000"]) == 0
    assert _option(started[0], "--server.address") == "0.0.0.0"
    assert _option(started[0], "--server.port") == "9000"
    assert cli.main(["dashboard", "--address", "::1"]) == 0
    assert _option(started[1], "--server.address") == "::1"
    assert "http://[::1]:8501" in capsys.readouterr().out


def test_the_browser_tests_start_the_same_command():
    command = cli.dashboard_command(8600, "--server.fileWatcherType", "none")
    assert _option(command, "--server.address") == "127.0.0.1"
    assert command.count("--server.address") == 1 and command[-2:] == ["--server.fileWatcherType", "none"]
