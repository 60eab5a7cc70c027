"""Build the small C accelerators; everything else is declared in pyproject.toml."""

from setuptools import Extension, setup

EXTENSIONS: list[Extension] = [
    # QuickLZ level-1 decoding for qpress (.qp) members: a pure-Python loop is ~100x too slow.
    Extension("xtrarestore.core.archive._quicklz", ["core/archive/_quicklz.c"], extra_compile_args=["-O2"]),
    # Header-only xbstream walk for the inventory: a Python walk costs ~3 ms per 400-chunk stream.
    Extension("xtrarestore.core.archive._scan", ["core/archive/_scan.c"], extra_compile_args=["-O2"]),
    # One pass over a binlog file (CRC32, row counts, transactions): Python per event is ~10x too slow.
    Extension(
        "xtrarestore.core.binlog._walk", ["core/binlog/_walk.c"], extra_compile_args=["-O2"], libraries=["z"]
    ),
]

setup(ext_modules=EXTENSIONS)
