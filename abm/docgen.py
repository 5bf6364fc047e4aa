"""Generated parts of hand-written documents: replace the text between two marker lines."""

from __future__ import annotations

from pathlib import Path


def replace_between(doc: Path, start: str, end: str, generated: str) -> bool:
    """Put ``generated`` (which begins with ``start`` and ends with ``end``) in place of the marked part of
    ``doc``; True when the file changed."""
    text = doc.read_text(encoding="utf-8")
    head, found, rest = text.partition(start)
    if not found:
        raise ValueError(f"{doc}: no line {start!r} to replace from")
    _, _, tail = rest.partition(end)
    new = head + generated + tail
    if new != text:
        doc.write_text(new, encoding="utf-8")
    return new != text
