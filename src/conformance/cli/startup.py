"""Start-up of the command process: what it builds once and keeps is kept out of the cyclic collector.

Importing the engine and reading the package indexes makes a few hundred thousand objects that live
until the process ends. Python's collector rescans every one of them each time a full collection is
triggered, which costs a one-file run about a tenth of its time; so while they are made the collector
waits, and afterwards they are frozen (moved where the collector never looks; reference counting still
frees them). Only the command's own process does this: a host program or a test calling `main(argv)`
keeps its collector as it is.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_state = {"command_process": False}


def claim_process() -> None:
    """This process is the `conformance` command (main() was called with the real command line)."""
    _state["command_process"] = True


@contextmanager
def long_lived() -> Iterator[None]:
    """Run a block whose objects live as long as the process: no collection while it runs, none after."""
    if not _state["command_process"] or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
