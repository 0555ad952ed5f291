"""``anxin dashboard``'s options: what does not make a usable setup is a usage error at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from anxin.__main__ import _parser
from anxin.dashboard_cli import DashboardSettings, settings_from


def settings(*argv: str) -> DashboardSettings:
    return settings_from(
        _parser().parse_args(["dashboard", "--database-url", "sqlite:///x.db", *argv])
    )


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("--gateway-broker-url", "mqtts://b:8883"), "needs --dynsec"),
        (("--dynsec", "mqtt://admin@127.0.0.1:1883"), "only go with --gateway-broker-url"),
        (("--gateway-broker-url", "mqtt://b", "--dynsec", "mqtts://a@b:1"), "only mqtt://"),
        (("--quarantine-path", "/nonexistent/q.db"), "no such file"),
        (("--port", "0"), "not a TCP port"),
        (("--mqtt-username", "anxin-dashboard"), "needs a password"),
    ],
)
def test_unusable_options_exit_with_a_usage_error(
    argv: tuple[str, ...],
    says: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ANXIN_MQTT_PASSWORD", raising=False)
    with pytest.raises(SystemExit) as ended:
        settings(*argv)
    assert ended.value.code == 2
    assert says in capsys.readouterr().err


def test_provisioning_options_make_settings(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    made = settings(
        "--store", "sqlite", "--sqlite-path", str(tmp_path / "s.db"),
        "--gateway-broker-url", "mqtts://broker:8883", "--gateway-ca", str(ca),
        "--dynsec", "mqtt://admin@127.0.0.1:1883",
    )  # fmt: skip
    assert made.store_location == str(tmp_path / "s.db")
    assert made.gateway_ca == ca
    assert "admin@" not in repr(made), "the dynsec URL may carry a password: kept out of repr"
