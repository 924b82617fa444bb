"""Pages generated from data in the repository (rule coverage, the message-id catalogue): write or check."""

from __future__ import annotations

from pathlib import Path


def write_or_check(target: Path, page: str, *, check: bool) -> int:
    """Write `page` to `target`, or (check) say whether `target` already holds it; an exit code."""
    if check:
        current = target.is_file() and target.read_text(encoding="utf-8") == page
        print(f"{target} is {'current' if current else 'out of date: regenerate it'}")
        return 0 if current else 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    print(f"wrote {target}")
    return 0
