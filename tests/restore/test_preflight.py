"""Preconditions and guards checked before anything is touched: space, workspace, datadir, lock, secrets."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace as NS

from plan_support import CUSTOM, POINT, plan_for, point_of
from xtrarestore.core.restore.plan import Target, build_plan
from xtrarestore.core.restore.preflight import datadir_checks, space_checks
from xtrarestore.core.restore.privileges import Password
from xtrarestore.core.restore.service import ServiceControl
from xtrarestore.core.restore.tools import MARIADB, Tool
from xtrarestore.core.restore.verify import read_client_options


def test_preflight_refuses_tmp_and_short_space(tmp_path):
    plan = plan_for(tmp_path)
    checks = {c.name: c for c in datadir_checks(plan)}
    assert not checks["not temporary"].ok and "/tmp" in checks["not temporary"].detail
    huge = point_of(NS(**{**vars(POINT.members[0]), "size": 1 << 60}))
    [space] = space_checks(plan, huge.members)
    assert not space.ok and "needs about" in space.detail and "free" in space.detail


def test_workspace_must_be_outside_the_backup_root_and_fresh(tmp_path):
    from xtrarestore.core.restore.preflight import workspace_checks

    plan = plan_for(tmp_path)
    assert all(c.ok for c in workspace_checks(plan, tmp_path / "backups"))
    inside, _ = workspace_checks(plan, tmp_path)
    assert not inside.ok and "read-only" in inside.detail
    (plan.extracted / "full").mkdir(parents=True)
    assert not workspace_checks(plan, tmp_path / "backups")[1].ok


def test_symlinked_datadir_is_refused_with_the_real_path(tmp_path):
    real = tmp_path / "data" / "mysql"
    real.mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)
    plan = build_plan(POINT, Target(datadir=tmp_path / "link", service=CUSTOM, socket=Path("/s")),
                      tool=Tool(MARIADB, Path("/mb"), "10.11"), workdir=tmp_path / "w", native=True)
    [check] = datadir_checks(plan)
    assert not check.ok and f"--datadir {real}" in check.detail
def test_custom_commands_with_a_password_are_refused(tmp_path):
    from xtrarestore.core.restore.preflight import service_checks

    def check(stop):
        target = Target(datadir=tmp_path, service=ServiceControl("custom", stop_cmd=stop, start_cmd="start"))
        return service_checks(target)[0]

    assert not check("mysqladmin -uroot -pS3cret shutdown").ok
    assert not check("mysqladmin --password=S3cret shutdown").ok
    assert "S3cret" not in check("mysqladmin -pS3cret shutdown").detail
    assert check("mkdir -p /run/x && systemctl stop mariadb").ok


def test_password_never_prints_itself():
    secret = Password("hunter2")
    assert "hunter2" not in repr(secret) + str(secret) + repr([secret])
    assert secret.reveal() == "hunter2"


def test_client_section_is_read_without_includes(tmp_path):
    cnf = tmp_path / "backup.cnf"
    cnf.write_text("!includedir /etc/mysql/conf.d/\n[client]\nuser=backup\npassword='s3cret'\n"
                   "socket=/run/mysqld/mysqld.sock\nskip-ssl\n[mysqld]\ndatadir=/x\n")
    assert read_client_options(cnf) == {"user": "backup", "password": "s3cret",
                                        "socket": "/run/mysqld/mysqld.sock", "skip_ssl": ""}


def test_relay_copies_of_binlogs_count_on_the_datadirs_file_system(tmp_path):
    """A roll-forward whose binlogs live on another file system copies them beside the relay logs: the space
    check adds them to what the datadir's file system must hold, before anything is touched."""
    plan = plan_for(tmp_path)
    asked = []

    def relay_copy_bytes(device: int) -> int:
        asked.append(device)
        return 1 << 60

    [check] = space_checks(plan, POINT.members, roll=NS(relay_copy_bytes=relay_copy_bytes))
    assert check.name == "space for extraction + swap by rename + binlog copies" and not check.ok
    assert asked == [tmp_path.stat().st_dev] and str(tmp_path) in check.detail
    [check] = space_checks(plan, POINT.members, roll=NS(relay_copy_bytes=lambda device: 0))
    assert check.ok and "binlog" not in check.name
