"""`conformance explain MESSAGE_ID`: what a rule is, where it comes from, examples, how to fix and silence it.

The entries are data (profiles/explain/*.toml, see `conformance.explain.data`); the docs site's message-id
catalogue page is generated from the same data (`conformance.explain.catalogue`).
"""

from __future__ import annotations

import difflib

from conformance.explain.data import Entry, Example, Family, entries, families
from conformance.explain.render import FORMATS, render

_LONGEST_ASKED = 200

__all__ = ["FORMATS", "Entry", "Example", "Family", "entries", "explain", "families", "render", "suggestions"]


def explain(message_id: str) -> Entry | None:
    """The entry for a message id, or None when there is none."""
    return entries().get(message_id.strip())


def suggestions(message_id: str, limit: int = 5) -> list[str]:
    """Known ids close to `message_id` (a typo, a missing segment), closest first."""
    known = list(entries())
    wanted = message_id.strip().lower()
    if len(wanted) > _LONGEST_ASKED:
        return []  # no id is this long; comparing would only cost time
    close = difflib.get_close_matches(wanted, known, n=limit, cutoff=0.6)
    # A family name alone ("slice") or an id's last part ("no-match") should still find its ids.
    partial = [i for i in known if wanted and (i.startswith(f"{wanted}.") or i.endswith(f".{wanted}"))]
    return list(dict.fromkeys([*close, *partial]))[:limit]
