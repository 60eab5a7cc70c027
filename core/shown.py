"""How text from outside is shown: one printable line, control characters made visible.

File and member names, bucket keys, server replies and log lines come from
disk, streams and servers we do not control. Printed raw, a newline in a
file name forges a second line ("restore complete, all good"), `ESC [2J`
clears the screen, OSC 52 writes the operator's clipboard, and U+202E turns
the rest of a line around. `shown()` is the one function every message,
table and screen passes such text through. It keeps everything printable
(accents, CJK) and replaces the rest by a visible escape: `\\n`, `\\t`,
`\\x1b`, `\\u202e`; bytes that are not UTF-8 (kept by Python as lone
surrogates) appear as `\\xNN`. Rich markup is the console's business:
`tui.display.text()` wraps the result so `[bold]` stays literal there.
"""

from __future__ import annotations

import re

NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0 and C1 controls, DEL, bidirectional and zero-width formatting, line/paragraph separators,
# the BOM, and lone surrogates (undecodable bytes from os.fsdecode).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)


def _visible(match: re.Match) -> str:
    char = match.group()
    if char in NAMED:
        return NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as surrogateescape keeps it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(value: object) -> str:
    """*value* as one line of plain text that is safe on any terminal (see the module docstring)."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(_visible, text)
