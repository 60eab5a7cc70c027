"""core/ is a UI-free library: importing all of it must not load Textual."""

import pkgutil
import subprocess
import sys

import xtrarestore.core


def test_core_never_imports_textual():
    modules = [m.name for m in pkgutil.walk_packages(xtrarestore.core.__path__, "xtrarestore.core.")]
    assert "xtrarestore.core.drills.sandbox" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
