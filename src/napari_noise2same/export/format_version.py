"""The model format version a package's ``rdf.yaml`` is written in, and the check that it fits it.

A package is for other people's tools (deepImageJ, ilastik, the bioimage.io website, the
bioimageio.core that CAREamics installs), which lag behind the newest format.  bioimageio.spec
writes a description in the newest format it implements, and two of its forms are newer than
those releases: from model format 0.5.11 on, ``covers`` and ``documentation`` are mappings
``{source, sha256}`` (before: plain relative paths, which bioimageio.spec 0.5.10 requires), and
from 0.5.4 on a weights entry may carry a ``comment``.  The package is therefore written in the
oldest format that holds what it needs: ``TARGET_FORMAT``, 0.5.3 (the description writes no
weights comments; the README says what each weight format is).  Newer releases read it as they
read any older 0.5 description: they convert the plain paths themselves.

Checked (docs/bioimageio.md, ``benchmarks/bioimageio_consumers.py``): validated by bioimageio.spec
0.5.3.6, 0.5.4.4 and 0.5.10.2; loaded, ``test_model`` passed for each weight format and one
prediction made by bioimageio.core 0.10.4 and 0.11.0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: the model format version every exported package declares
TARGET_FORMAT = "0.5.3"
#: fields that the target format takes as a plain relative path (newer formats: {source, sha256})
PLAIN_PATH_FIELDS = ("documentation", "icon")
#: keys of a weights entry that the target format does not know (added in model format 0.5.4)
NEWER_WEIGHTS_KEYS = ("comment",)


def read_yaml(source: str | Path) -> Any:
    """YAML text or a file, read with the YAML library that bioimageio.spec depends on (ruyaml in
    the releases the export supports, ruamel.yaml in older ones)."""
    try:
        from ruyaml import YAML
    except ImportError:
        from ruamel.yaml import YAML
    return YAML(typ="safe").load(source)


def to_target_format(rdf: dict[str, Any]) -> dict[str, Any]:
    """``rdf`` (a description as the installed bioimageio.spec writes it) in ``TARGET_FORMAT``."""
    out = dict(rdf, format_version=TARGET_FORMAT)
    for key in PLAIN_PATH_FIELDS:
        if isinstance(out.get(key), dict):
            out[key] = out[key]["source"]
    if isinstance(out.get("covers"), list):
        out["covers"] = [c["source"] if isinstance(c, dict) else c for c in out["covers"]]
    return out


def target_format_problems(rdf: dict[str, Any]) -> list[str]:
    """What in ``rdf`` a consumer of ``TARGET_FORMAT`` would reject: [] when nothing."""
    problems = []
    if rdf.get("format_version") != TARGET_FORMAT:
        problems.append(f"format_version is {rdf.get('format_version')!r}, not {TARGET_FORMAT!r}")
    for key in PLAIN_PATH_FIELDS:
        if key in rdf and not isinstance(rdf[key], str):
            problems.append(f"{key} must be a plain relative path, not {rdf[key]!r}")
    for i, cover in enumerate(rdf.get("covers") or []):
        if not isinstance(cover, str):
            problems.append(f"covers[{i}] must be a plain relative path, not {cover!r}")
    for name, entry in (rdf.get("weights") or {}).items():
        for key in NEWER_WEIGHTS_KEYS:
            if isinstance(entry, dict) and key in entry:
                problems.append(f"weights.{name}.{key} is newer than model format {TARGET_FORMAT}")
    return problems
