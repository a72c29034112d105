"""Laying out a document or a BPMN file in place (written whole or not at all), and the command
line `python -m gridflow.layout`."""

from __future__ import annotations

import argparse
import os
import pathlib
import tempfile
from collections.abc import Sequence

from gridflow.layout.diagrams import _build
from gridflow.layout.source import _Source


def layout_document(xml: bytes, *, replace: bool = False) -> bytes:
    """Return ``xml`` with a generated BPMN diagram.

    A document that already has a ``bpmndi:BPMNDiagram`` is returned unchanged unless
    ``replace`` is true, in which case its diagrams are replaced.  Raises ValueError for a
    document that is not well-formed, has a DOCTYPE, or is not a BPMN definitions document.
    """
    source = _Source.parse(xml)
    if source.has_diagram() and not replace:
        return xml
    return source.rewrite(_build(source.root))


def layout_file(path: pathlib.Path, *, replace: bool = False) -> bool:
    """Lay out the BPMN file at ``path`` in place; True if the file was changed."""
    path = pathlib.Path(path)
    original = path.read_bytes()
    result = layout_document(original, replace=replace)
    if result == original:
        return False
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(result)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gridflow.layout",
        description="Generate BPMN diagram information (pools, lanes, shapes, edges).",
    )
    parser.add_argument("--replace", action="store_true", help="replace an existing diagram")
    parser.add_argument("files", nargs="+", type=pathlib.Path, metavar="FILE")
    args = parser.parse_args(argv)
    status = 0
    for path in args.files:
        try:
            changed = layout_file(path, replace=args.replace)
        except (OSError, ValueError) as exc:
            print(f"{path}: error: {exc}")
            status = 1
            continue
        if changed:
            print(f"{path}: diagram {'replaced' if args.replace else 'generated'}")
        elif args.replace:
            print(f"{path}: unchanged")
        else:
            print(f"{path}: unchanged (already has a diagram)")
    return status
