"""Service control: systemd, SysV and custom commands."""

from __future__ import annotations

import pytest

from xtrarestore.core.restore.service import ServiceControl, resolve_service


def test_custom_service_commands_must_come_in_pairs():
    assert resolve_service(None, "a", "b") == ServiceControl("custom", stop_cmd="a", start_cmd="b")
    with pytest.raises(Exception, match="together"):
        resolve_service(None, "a", None)


def test_sysv_and_systemd_commands():
    assert ServiceControl("sysv", unit="mariadb").describe("stop") == "service mariadb stop"
    assert ServiceControl("systemd", unit="mysqld").describe("start") == "systemctl start mysqld"
    assert resolve_service("sysv:mysql", None, None) == ServiceControl("sysv", unit="mysql")


def test_systemd_aliases_count_once(tmp_path, monkeypatch):
    from xtrarestore.core.restore import service

    fake = tmp_path / "systemctl"
    fake.write_text('#!/bin/sh\ncase "$6" in\n  mysql.service|mariadb.service) echo LoadState=loaded;'
                    ' echo Id=mariadb.service;;\n  *) echo LoadState=not-found; echo Id="$6";;\nesac\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setattr(service, "_has_systemd", lambda: True)
    assert service.detect_systemd_units() == ["mariadb"]
    assert resolve_service("auto", None, None) == ServiceControl("systemd", unit="mariadb")
