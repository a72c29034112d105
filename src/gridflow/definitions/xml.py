"""Reading BPMN and DMN text safely: within the size limit, without DTDs, entities or network,
so XXE and entity expansion never get a chance."""

from __future__ import annotations

import re

from lxml import etree

from gridflow.errors import Problem

MAX_FILE_BYTES = 5 * 1024 * 1024


def too_big(file: str, size: int) -> Problem:
    return Problem(file, None, None, f"file is {size} bytes; the limit is {MAX_FILE_BYTES} bytes")


class Refused(Exception):
    """The text is not XML gridflow will read; `problem` says why."""

    def __init__(self, problem: Problem):
        self.problem = problem


def parse_xml(xml: bytes, file: str) -> etree._ElementTree:
    """Parse without DTDs, entities or network: XXE and entity expansion never get a chance."""
    head = xml[:4096].lstrip()
    declaration = re.search(rb"<!DOCTYPE|<!ENTITY", xml, re.IGNORECASE)
    if declaration is not None:
        line = xml[: declaration.start()].count(b"\n") + 1
        raise Refused(
            Problem(
                file,
                line,
                None,
                "DOCTYPE and entity declarations are not allowed in BPMN files "
                "(they can read local files or expand without limit)",
            )
        )
    if not head:
        raise Refused(Problem(file, None, None, "file is empty"))
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        syntax_line: int | None = exc.lineno or None
        raise Refused(Problem(file, syntax_line, None, f"malformed XML: {exc.msg}")) from exc
    return root.getroottree()


def well_formed(xml: bytes) -> bool:
    """Whether BPMN text is XML gridflow will read at all (within the size limit, no DTD or
    entities, well formed), so it can be drawn even when the lint found problems."""
    if not xml or len(xml) > MAX_FILE_BYTES:
        return False
    try:
        parse_xml(xml, "")
    except Refused:
        return False
    return True
