"""Build the small C accelerators; everything else is declared in pyproject.toml."""

from setuptools import Extension, setup

EXTENSIONS: list[Extension] = [
    # QuickLZ level-1 decoding for qpress (.qp) members: a pure-Python loop is ~100x too slow.
    Extension("xtrarestore.core.archive._quicklz", ["core/archive/_quicklz.c"], extra_compile_args=["-O2"]),
    # Header-only xbstream walk for the inventory: a Python walk costs ~3 ms per 400-chunk stream.
    Extension("xtrarestore.core.archive._scan", ["core/archive/_scan.c"], extra_compile_args=["-O2"]),
]

setup(ext_modules=EXTENSIONS)
