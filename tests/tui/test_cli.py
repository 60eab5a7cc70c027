"""The top-level command line: the console restores into the server its options name."""

from pathlib import Path
from types import SimpleNamespace

from xtrarestore.tui.app import settings_from_args
from xtrarestore.tui.cli import parse_args
from xtrarestore.tui.commands.plan import request_from
from xtrarestore.tui.jobs.restore import target_options


def _point():
    return SimpleNamespace(day=SimpleNamespace(name="Mon"), target=SimpleNamespace(name="incremental-1.xbstream"))


def test_console_takes_the_restore_target_from_the_command_line(tmp_path):
    args = parse_args(
        ["--root", str(tmp_path), "--datadir", "/srv/db", "--stop-cmd", "stop-it", "--start-cmd", "start-it",
         "--socket", "/run/db.sock", "--state-dir", str(tmp_path / "state")]
    )
    assert args.command is None
    request = request_from(target_options(settings_from_args(args), _point()))
    target = request.target
    assert (target.datadir, target.service.stop_cmd, target.service.start_cmd) == (Path("/srv/db"), "stop-it", "start-it")
    assert target.socket == Path("/run/db.sock") and request.state_dir == tmp_path / "state"
    assert (request.root, request.day, request.upto) == (tmp_path, "Mon", "incremental-1.xbstream")


def test_console_without_target_options_uses_the_defaults(tmp_path):
    options = target_options(settings_from_args(parse_args(["--root", str(tmp_path)])), _point())
    assert options["datadir"] == "/var/lib/mysql"
    assert options["service"] == "auto" and options.get("stop_cmd") is None


def test_subcommand_options_are_unchanged_by_the_console_options():
    args = parse_args(
        ["plan", "--day", "Mon", "--upto", "x", "--datadir", "/d", "--stop-cmd", "s", "--start-cmd", "t"]
    )
    assert (args.command, args.datadir, args.stop_cmd, args.verify_sample) == ("plan", "/d", "s", 200)


def test_options_given_before_the_command_are_kept():
    """`xtrarestore --socket S plan …`: the command's defaults do not overwrite what the operator typed first."""
    args = parse_args(["--socket", "/run/db.sock", "--stop-timeout", "30", "--datadir", "/d", "--binlog-dir", "/a",
                       "plan", "--upto", "x", "--binlog-dir", "/b"])
    assert (args.socket, args.stop_timeout, args.datadir) == ("/run/db.sock", 30.0, "/d")
    assert args.binlog_dir == ["/a", "/b"] and args.verify_sample == 200 and args.host is None


def test_an_option_given_before_the_command_is_converted_as_the_command_converts_it():
    args = parse_args(["--workdir", "/var/tmp/drills", "drill", "--upto", "latest"])
    assert args.workdir == Path("/var/tmp/drills")
    args = parse_args(["--binlog-dir", "/a", "flashback", "--binlog-dir", "/b", "--gtid", "0-1-2", "--socket", "/s"])
    assert args.binlog_dir == [Path("/a"), Path("/b")]
    assert parse_args(["flashback", "--binlog-dir", "/b", "--gtid", "0-1-2"]).workdir is None
