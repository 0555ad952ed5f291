"""The broker options of ``anxin ingest`` and ``anxin alerts run``: what they accept and refuse.

Every refusal is a usage error before anything starts: exit code 2 and one line saying what is
wrong (never the password).
"""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path

import pytest

from anxin.__main__ import main
from anxin.broker_login import (
    MQTT_PORT,
    MQTTS_PORT,
    PASSWORD_ENV,
    BrokerOptionError,
    add_broker_options,
    broker_settings,
)
from tests.gateway.tlscerts import TlsFiles, make_pki

COMMANDS = {
    "ingest": ("ingest",),
    "alerts run": ("alerts", "run", "--database-url", "sqlite:///unused.db"),
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A CA and a client certificate."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A good password file, an empty one, a missing one, a file that is not PEM."""
    good = tmp_path / "pw"
    good.write_text("  s3cret-from-file \nsecond line is ignored\n")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    return {"good": good, "empty": empty, "missing": tmp_path / "nope", "junk": junk}


def _refusal(
    command: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int | str | None, str]:
    with pytest.raises(SystemExit) as exited:
        main([*COMMANDS[command], *argv])
    return exited.value.code, capsys.readouterr().err


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--mqtt-username", "svc"], "--mqtt-username needs a password"),
        (["--mqtt-username", "svc", "--mqtt-password-file", "{missing}"], "cannot read it"),
        (["--mqtt-username", "svc", "--mqtt-password-file", "{empty}"], "first line is empty"),
        (["--mqtt-password-file", "{good}"], "--mqtt-password-file is given but --mqtt-username"),
        (["--mqtt-username", "", "--mqtt-password-file", "{good}"], "--mqtt-username is empty"),
        (["--mqtt-ca", "{ca}", "--mqtt-cert", "{cert}"], "--mqtt-cert and --mqtt-key go together"),
        (["--mqtt-ca", "{ca}", "--mqtt-key", "{key}"], "--mqtt-cert and --mqtt-key go together"),
        (["--mqtt-cert", "{cert}", "--mqtt-key", "{key}"], "--mqtt-cert needs --mqtt-ca"),
        (["--mqtt-ca", "{missing}"], "No such file or directory"),
        (["--mqtt-ca", "{junk}"], "not a usable PEM file"),
        (["--mqtt-ca", "{ca}", "--mqtt-cert", "{junk}", "--mqtt-key", "{key}"], "not a usable PEM"),
        (["--mqtt-port", "70000"], "--mqtt-port 70000 is not a TCP port"),
    ],
)
def test_a_bad_broker_option_is_a_one_line_usage_error(
    command: str,
    argv: list[str],
    says: str,
    files: dict[str, Path],
    pki: TlsFiles,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    paths = {**files, "ca": pki.ca, "cert": pki.client_cert, "key": pki.client_key}
    code, err = _refusal(command, [a.format(**paths) for a in argv], capsys)
    assert code == 2
    assert err.count("\n") == 1, err
    assert err.startswith(f"anxin {command}: error: ")
    assert says in err
    assert "s3cret" not in err


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_password_in_the_environment_without_a_username_is_refused(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-from-env")
    code, err = _refusal(command, [], capsys)
    assert code == 2
    assert f"${PASSWORD_ENV} is given but --mqtt-username is not" in err


@pytest.mark.parametrize("command", list(COMMANDS))
def test_there_is_no_password_option(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ps`` shows a command line to every user: ``--mqtt-password`` must not be accepted,
    not even as an abbreviation of ``--mqtt-password-file``."""
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    code, err = _refusal(command, ["--mqtt-username", "svc", "--mqtt-password", "pw"], capsys)
    assert code == 2
    assert "unrecognized arguments: --mqtt-password" in err


def _settings(argv: list[str], environ: dict[str, str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    add_broker_options(parser)
    return parser.parse_args(argv)


def test_the_password_file_first_line_stripped_wins_over_the_environment(
    files: dict[str, Path],
) -> None:
    args = _settings(["--mqtt-username", "svc", "--mqtt-password-file", str(files["good"])])
    settings = broker_settings(args, {PASSWORD_ENV: "from-env"})
    assert settings.password == "s3cret-from-file"
    assert broker_settings(_settings(["--mqtt-username", "svc"]), {PASSWORD_ENV: " env \n"}) == (
        broker_settings(_settings(["--mqtt-username", "svc"]), {PASSWORD_ENV: "env"})
    )
    assert (
        broker_settings(_settings(["--mqtt-username", "svc"]), {PASSWORD_ENV: "e"}).password == "e"
    )
    with pytest.raises(BrokerOptionError, match="set but empty"):
        broker_settings(_settings(["--mqtt-username", "svc"]), {PASSWORD_ENV: " "})


def test_the_password_is_never_in_a_repr(files: dict[str, Path]) -> None:
    args = _settings(["--mqtt-username", "svc", "--mqtt-password-file", str(files["good"])])
    settings = broker_settings(args, {})
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in repr(settings.login())


def test_tls_checks_the_server_against_the_ca_and_takes_the_tls_port(pki: TlsFiles) -> None:
    plain = broker_settings(_settings([]), {})
    assert (plain.port, plain.login().tls) == (MQTT_PORT, None)
    tls = broker_settings(_settings(["--mqtt-ca", str(pki.ca)]), {})
    assert tls.port == MQTTS_PORT
    context = tls.login().tls
    assert context is not None
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert len(context.get_ca_certs()) == 1  # only the given CA, not the system's
    own = broker_settings(_settings(["--mqtt-ca", str(pki.ca), "--mqtt-port", "18883"]), {})
    assert own.port == 18883
