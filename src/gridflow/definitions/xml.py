"""Reading BPMN and DMN text safely: from regular files only, within the size limit, in UTF-8,
without DTDs, entities or network, so XXE and entity expansion never get a chance."""

from __future__ import annotations

import codecs
import os
import re
import stat
from pathlib import Path

from lxml import etree

from gridflow.errors import Problem

MAX_FILE_BYTES = 5 * 1024 * 1024

_DECLARATION = re.compile(r"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_ENCODING = re.compile(rb"""^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
# XML 1.0 appendix F: the byte order mark, else the first four bytes of "<?xml", name the
# encoding family before any declaration can be read.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_FIRST_BYTES = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp500"),  # EBCDIC "<?xm"
)
_UTF8_NAMES = frozenset({"utf8", "usascii", "ascii"})


def too_big(file: str, size: int) -> Problem:
    return Problem(file, None, None, f"file is {size} bytes; the limit is {MAX_FILE_BYTES} bytes")


class Refused(Exception):
    """The text is not XML gridflow will read; `problem` says why."""

    def __init__(self, problem: Problem):
        self.problem = problem


def read_file(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES; Refused otherwise.

    A FIFO, a device or a socket is refused without reading from it (a FIFO with no writer
    would block forever, /dev/zero never ends): the file is opened without blocking and
    checked on its descriptor, so it cannot be swapped between the check and the read. At
    most one byte more than the limit is read, whatever the size the file claims.
    """
    file = str(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise Refused(Problem(file, None, None, f"cannot read: {exc.strerror or exc}")) from exc
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "a device, FIFO or socket"
            raise Refused(
                Problem(file, None, None, f"not a regular file ({kind}); nothing was read")
            )
        chunks: list[bytes] = []
        left = MAX_FILE_BYTES + 1
        while left > 0:
            chunk = os.read(descriptor, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise Refused(Problem(file, None, None, f"cannot read: {exc.strerror or exc}")) from exc
    finally:
        os.close(descriptor)
    data = b"".join(chunks)
    if len(data) > MAX_FILE_BYTES:
        raise Refused(too_big(file, os.stat(path).st_size if path.exists() else len(data)))
    return data


def encoding_of(xml: bytes) -> str:
    """The encoding the text is in, as an XML parser would find it: the byte order mark, the
    first bytes, else the declaration; UTF-8 when nothing says otherwise."""
    for bom, name in _BOMS:
        if xml.startswith(bom):
            return name
    for start, name in _FIRST_BYTES:
        if xml.startswith(start):
            return name
    declared = _ENCODING.match(xml[:200])
    return declared.group(1).decode("ascii") if declared else "utf-8"


def _is_utf8(encoding: str) -> bool:
    return re.sub(r"[-_.]", "", encoding.lower()) in _UTF8_NAMES


def _refuse_declarations(text: str, file: str) -> None:
    declaration = _DECLARATION.search(text)
    if declaration is not None:
        line = text[: declaration.start()].count("\n") + 1
        raise Refused(
            Problem(
                file,
                line,
                None,
                "DOCTYPE and entity declarations are not allowed in BPMN files "
                "(they can read local files or expand without limit)",
            )
        )


def _check_encoding(xml: bytes, file: str) -> None:
    """Only UTF-8 is read. Any other encoding is decoded first, so a DOCTYPE written in UTF-16,
    UTF-32, UTF-7 or EBCDIC is named as such, then the file is refused for its encoding: the
    modeler, the diff and the downloads all treat BPMN text as UTF-8, as Camunda Modeler and
    bpmn.io write it."""
    encoding = encoding_of(xml)
    if xml.startswith(codecs.BOM_UTF8):
        # After a UTF-8 byte order mark, the declaration must say UTF-8 too.
        declared = _ENCODING.match(xml[len(codecs.BOM_UTF8) :][:200])
        if declared is not None:
            encoding = declared.group(1).decode("ascii")
    if _is_utf8(encoding):
        return
    try:
        text = xml.decode(codecs.lookup(encoding).name, "replace")
    except LookupError:
        text = ""
    _refuse_declarations(text, file)
    family = encoding.upper().removesuffix("-LE").removesuffix("-BE")
    raise Refused(
        Problem(
            file,
            1,
            None,
            f"the file is in {family}; gridflow reads BPMN files in UTF-8 only "
            "(as Camunda Modeler and bpmn.io save them): save it again as UTF-8",
        )
    )


def parse_xml(xml: bytes, file: str, *, utf8_only: bool = True) -> etree._ElementTree:
    """Parse without DTDs, entities or network: XXE and entity expansion never get a chance.

    The DOCTYPE/entity check runs on the decoded text, whatever the encoding. `utf8_only=False`
    reads a version deployed before other encodings were refused.
    """
    if utf8_only:
        _check_encoding(xml, file)
    encoding = encoding_of(xml)
    if _is_utf8(encoding):
        # UTF-8 keeps every ASCII byte as it is: the declarations are found in the bytes.
        found = re.search(rb"<!DOCTYPE|<!ENTITY", xml, re.IGNORECASE)
        if found is not None:
            _refuse_declarations(xml[: found.end()].decode("utf-8", "replace"), file)
    else:
        try:
            _refuse_declarations(xml.decode(codecs.lookup(encoding).name, "replace"), file)
        except LookupError:
            raise Refused(
                Problem(file, 1, None, f"unknown encoding {encoding!r}; save the file as UTF-8")
            ) from None
    head = xml[:4096].lstrip()
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
    """Whether BPMN text is XML gridflow will read at all (within the size limit, UTF-8, no
    DTD or entities, well formed), so it can be drawn even when the lint found problems."""
    if not xml or len(xml) > MAX_FILE_BYTES:
        return False
    try:
        parse_xml(xml, "")
    except Refused:
        return False
    return True
