"""The command line as a new user meets it, on real backups, piped (80 columns):
names as the table shows them round-trip into `plan`, and every backup name is printed whole."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tui_support import MON, TUE, build_tree, new_server, var_tmp_dir

pytestmark = pytest.mark.mariadb


@pytest.fixture(scope="module")
def tree():
    server = new_server()
    work = var_tmp_dir("xtrarestore-cli-names-")
    datadir = work / "datadir"
    datadir.mkdir()
    try:
        build_tree(server, work / "backups")
    finally:
        server.destroy()
    yield work / "backups", datadir
    shutil.rmtree(work, ignore_errors=True)


def cli(*args: str, columns: int | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "XTRARESTORE_CONFIG")}
    environment["XTRARESTORE_CONFIG"] = os.devnull
    if columns:
        environment["COLUMNS"] = str(columns)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "xtrarestore.tui.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def plan(root, datadir, *extra: str, columns: int | None = None) -> subprocess.CompletedProcess:
    return cli(
        "plan",
        "--root",
        str(root),
        *extra,
        "--datadir",
        str(datadir),
        "--stop-cmd",
        "true",
        "--start-cmd",
        "true",
        "--socket",
        str(datadir / "none.sock"),
        columns=columns,
    )


def steps_of(output: str) -> list[str]:
    """The plan's steps and commands, without its restore id (new on every run)."""
    return [
        re.sub(r"\d{8}T\d{6}Z(-[0-9a-f]{4})?", "ID", line)
        for line in output.splitlines()
        if re.match(r"\s*(\d+\.|\$|restore )", line)
    ]


def test_upto_takes_every_name_the_tool_shows(tree):
    root, datadir = tree
    name = f"incremental-{MON[1]:%m-%d-%Y_%H-%M-%S}"
    reference = plan(root, datadir, "--day", "Mon", "--upto", name + ".xbstream")
    assert "Apply incremental " + name + ".xbstream" in reference.stdout, reference.stderr
    shown = cli("inventory", "--root", str(root)).stdout
    assert f"  {name} " in shown  # the table shows the name without .xbstream
    for form in (
        ["--upto", name],
        ["--day", "Mon", "--upto", name],
        ["--upto", f"{MON[1]:%Y-%m-%d %H:%M:%S}"],
        ["--upto", f"Mon/{name}"],
        ["--upto", name[:-3]],
        ["--day", "mon", "--upto", name + ".xbstream"],
    ):
        result = plan(root, datadir, *form)
        assert steps_of(result.stdout) == steps_of(reference.stdout), (form, result.stderr)


def test_latest_is_the_newest_restorable_point(tree):
    root, datadir = tree
    newest = f"incremental-{TUE[1]:%m-%d-%Y_%H-%M-%S}.xbstream"  # Tue's later ones are past a gap or incomplete
    latest = plan(root, datadir, "--upto", "latest")
    assert steps_of(latest.stdout) == steps_of(plan(root, datadir, "--day", "Tue", "--upto", newest).stdout)
    mon = plan(root, datadir, "--day", "Mon", "--upto", "latest")
    assert f"up to incremental-{MON[2]:%m-%d-%Y_%H-%M-%S}.xbstream" in " ".join(mon.stdout.split())


def test_unknown_and_ambiguous_names_give_one_line_with_candidates(tree):
    root, datadir = tree
    result = plan(root, datadir, "--day", "Mon", "--upto", f"incremental-{MON[1]:%m-%d-%Y_%H}-01-00")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "no backup" in result.stderr and f"closest: incremental-{MON[1]:%m-%d-%Y_%H-%M-%S}" in result.stderr
    result = plan(root, datadir, "--upto", "incremental-11-1")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "names 4 backups" in result.stderr or "names" in result.stderr and "give more of the name" in result.stderr
    result = plan(root, datadir, "--day", "Wed", "--upto", "latest")
    assert result.stderr.count("\n") == 1 and "no day directory 'Wed'; closest:" in result.stderr


def test_inventory_piped_fits_80_columns_with_every_name_whole(tree):
    root, _datadir = tree
    result = cli("inventory", "--root", str(root))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    files = [p.name for p in root.glob("*/*.xbstream*")]
    names = [n.replace(".xbstream.", ".").removesuffix(".xbstream") for n in files]  # as the table shows them
    names += [n for n in files if n.endswith(".incomplete")]  # and in full in the problems
    assert len(names) >= 7
    for name in names:
        assert any(name in line for line in lines), f"{name} is not whole on any line:\n{result.stdout}"
    long_words = {w for line in lines for w in line.split() if len(w) > 60}
    assert all(len(line) <= 80 for line in lines if not long_words & set(line.split())), result.stdout
    assert "Problems:" in result.stdout and "incomplet\n" not in result.stdout
    wide = cli("inventory", "--root", str(root), "--wide").stdout
    assert "LSN range" in wide and "LSN range" not in result.stdout
    assert "LSN range" in cli("inventory", "--root", str(root), columns=160).stdout


def test_plan_in_an_80_column_terminal_wraps_at_words_and_keeps_names_whole(tree):
    """In a real 80-column terminal the plan wraps at words; piped, it keeps one line per item for scripts."""
    from ptyprocess import PtyProcess

    root, datadir = tree
    argv = [
        "plan",
        "--root",
        str(root),
        "--upto",
        "latest",
        "--datadir",
        str(datadir),
        "--stop-cmd",
        "true",
        "--start-cmd",
        "true",
        "--socket",
        str(datadir / "none.sock"),
    ]
    piped = cli(*argv)
    assert any(len(line) > 80 for line in piped.stdout.splitlines())
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["XTRARESTORE_CONFIG"] = os.devnull
    proc = PtyProcess.spawn([sys.executable, "-m", "xtrarestore.tui.cli", *argv], env=env, dimensions=(24, 80))
    chunks = []
    while True:
        try:
            chunks.append(proc.read(65536))
        except EOFError:
            break
    proc.wait()
    shown = b"".join(chunks).decode().replace("\r\n", "\n")
    lines = shown.splitlines()
    words = set(shown.split())
    for stream in (root / "Tue").glob("*.xbstream"):
        if "incremental" in stream.name and stream.name > f"incremental-{TUE[1]:%m-%d-%Y_%H-%M-%S}":
            continue
        assert stream.name in words or str(stream) in words, stream.name
    assert all(len(line) <= 80 or len(max(line.split(), key=len)) > 60 for line in lines), shown
    assert len(lines) > len(piped.stdout.splitlines())


def test_version():
    result = cli("--version")
    assert result.returncode == 0 and re.fullmatch(r"xtrarestore \d+\.\d+\.\d+\n", result.stdout)
