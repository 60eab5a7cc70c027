"""The top-level command line: the console restores into the server its options name."""

from types import SimpleNamespace

from xtrarestore.tui.app import settings_from_args
from xtrarestore.tui.cli import build_parser
from xtrarestore.tui.restore_job import target_args


def _point():
    return SimpleNamespace(day=SimpleNamespace(name="Mon"), target=SimpleNamespace(name="incremental-1.xbstream"))


def test_console_takes_the_restore_target_from_the_command_line(tmp_path):
    args = build_parser().parse_args(
        ["--root", str(tmp_path), "--datadir", "/srv/db", "--stop-cmd", "stop-it", "--start-cmd", "start-it",
         "--socket", "/run/db.sock", "--state-dir", str(tmp_path / "state")]
    )
    assert args.command is None
    plan_args = target_args(settings_from_args(args), _point())
    assert (plan_args.datadir, plan_args.stop_cmd, plan_args.start_cmd) == ("/srv/db", "stop-it", "start-it")
    assert plan_args.socket == "/run/db.sock" and plan_args.state_dir == str(tmp_path / "state")
    assert (plan_args.root, plan_args.day, plan_args.upto) == (str(tmp_path), "Mon", "incremental-1.xbstream")


def test_console_without_target_options_uses_the_defaults(tmp_path):
    plan_args = target_args(settings_from_args(build_parser().parse_args(["--root", str(tmp_path)])), _point())
    assert plan_args.datadir == "/var/lib/mysql"
    assert plan_args.service == "auto" and plan_args.stop_cmd is None


def test_subcommand_options_are_unchanged_by_the_console_options():
    args = build_parser().parse_args(
        ["plan", "--day", "Mon", "--upto", "x", "--datadir", "/d", "--stop-cmd", "s", "--start-cmd", "t"]
    )
    assert (args.command, args.datadir, args.stop_cmd, args.verify_sample) == ("plan", "/d", "s", 200)
