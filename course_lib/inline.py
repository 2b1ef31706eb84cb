"""Inline commands: how Redis cuts a typed line such as ``SET greeting "hello world"`` into words.

What it is: ``split_inline(line)``, Redis's ``sdssplitargs`` (``sds.c``) in Python. A
request that does not start with ``*`` is an *inline* command, the form you type in
``telnet`` and the one ``redis-benchmark`` sends for ``PING_INLINE``; ``course_lib.resp``'s
parser hands each such line to this function. Words are separated by blanks;
``"..."`` understands ``\\n``, ``\\xHH`` and friends; ``'...'`` only ``\\'``. A line
with no quotes at all is cut by ``bytes.split()`` in C, which gives the same words.

What it is not: a shell. No variables, no globbing, no backslash outside quotes.
"""

from __future__ import annotations

import re

__all__ = ["split_inline"]

_SPACE = b" \t\n\v\f\r"  # C's isspace()
_PLAIN = re.compile(rb"[^\"'\v\f]*")  # an inline line that bytes.split() cuts exactly as Redis does
_HEX = re.compile(rb"[0-9a-fA-F]{2}")
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}


def split_inline(line: bytes) -> list[bytes] | None:
    """The arguments of an inline command (Redis's ``sdssplitargs``), or None for unbalanced quotes.

    Words are separated by blanks; ``"..."`` understands ``\\n``, ``\\xHH`` and friends;
    ``'...'`` only ``\\'``. A closing quote must be followed by a blank or the end.
    """
    if _PLAIN.fullmatch(line):
        return line.split()
    args, i, n = [], 0, len(line)
    while True:
        while i < n and line[i] in _SPACE:
            i += 1
        if i == n:
            return args
        word, quote = bytearray(), None
        while True:
            c = line[i] if i < n else None
            if quote is None:
                if c is None or c in b" \n\r\t":
                    break
                if c in b"\"'":
                    quote = c
                else:
                    word.append(c)
            elif c is None:
                return None  # the line ended inside quotes
            elif c == quote:
                if i + 1 < n and line[i + 1] not in _SPACE:
                    return None  # "abc"def
                i += 1
                break
            elif c == 92 and quote == 34 and line[i + 1:i + 2] == b"x" and _HEX.fullmatch(line, i + 2, i + 4):
                word.append(int(line[i + 2:i + 4], 16))
                i += 3
            elif c == 92 and quote == 34 and i + 1 < n:
                i += 1
                word.append(_ESCAPES.get(line[i], line[i]))
            elif c == 92 and quote == 39 and line[i + 1:i + 2] == b"'":
                i += 1
                word.append(39)
            else:
                word.append(c)
            i += 1
        args.append(bytes(word))
