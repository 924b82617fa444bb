"""Where the data shipped inside the package is: the one place that knows the package's data layout.

Everything the library reads at run time lives in the `conformance` package itself and is found through
`importlib.resources`, so an installed wheel works from any folder:

- `profiles/` is the repository's `profiles/` folder (standards, identifier rules, and whatever else is
  kept as editable data there). In the source tree `src/conformance/profiles` is a link to it, which the
  wheel and sdist builds turn into files, so an editable install reads the edited files directly.
- `samples/` holds the sample supplier payloads of `conformance sample`: `valid/` and `invalid/`, links
  to the same folders of `fixtures/statements` in the source tree.

Callers get real folders (`Path`): the loaders list and open files by path, and the package is
installed as files (a wheel never runs zipped).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from conformance.errors import InputError

PACKAGE = "conformance"
PROFILES = "profiles"
SAMPLES = "samples"


def package_folder(*parts: str) -> Path:
    """The folder `parts` inside the installed package; InputError when it is not there.

    Links in a source tree are resolved, so messages name the file a person edits.
    """
    root = files(PACKAGE)
    if not isinstance(root, Path):
        raise InputError(f"the {PACKAGE} package is not installed as files ({root}): install the wheel")
    folder = root.joinpath(*parts).resolve()
    if not folder.is_dir():
        raise InputError(
            f"the package data folder {folder} is missing: reinstall fhir-conformance (in a git checkout,"
            " src/conformance/profiles and src/conformance/samples are links: clone with core.symlinks=true)"
        )
    return folder


def profiles_folder(name: str) -> Path:
    """A folder of the shipped `profiles/` data: `standards`, `identifiers`, ..."""
    return package_folder(PROFILES, name)


def samples_folder() -> Path:
    """The sample supplier payloads of `conformance sample` (folders `valid` and `invalid`)."""
    return package_folder(SAMPLES)
