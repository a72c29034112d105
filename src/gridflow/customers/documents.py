"""Documents customers upload (identity card, property certificate, load list, a photo of a
fault): checked by their content and size before anything is kept, stored under a name the
server chooses in the documents folder, and shown to staff on the links that need them.

A file is taken only when its first bytes say PDF, JPEG or PNG (what its name or the browser
says is not believed) and it is at most MAX_BYTES. Its stored name is random hex plus the
extension of the type found; the name the customer gave is kept for display only."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, func, insert, select

from gridflow.errors import GridflowError, NotFoundError
from gridflow.models import Document, to_ms
from gridflow.runtime import Runtime
from gridflow.texts import _

MAX_BYTES = 5 * 1024 * 1024
KINDS = {
    "id_card": _("Identity card"),
    "property": _("Property certificate"),
    "load_list": _("Load list"),
    "photo": _("Photo of the fault"),
}
# The first bytes of each accepted type, and the extension it is stored with.
SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)
IMAGES = ("image/jpeg", "image/png")
# The links that need a customer's documents (by process and link): staff see them there.
NEEDED_BY: dict[tuple[str, str], tuple[str, ...]] = {
    ("lv_residential_connection", "Activity_accept"): ("id_card", "property", "load_list"),
    ("lv_business_connection", "Activity_accept"): ("id_card", "property", "load_list"),
    ("lv_business_connection", "Activity_site_survey"): ("load_list",),
    ("hv_connection", "Activity_accept"): ("id_card", "property", "load_list"),
    ("hv_connection", "Activity_design_scheme"): ("load_list",),
    ("fault_repair", "Activity_accept"): ("photo",),
    ("fault_repair", "Activity_dispatch"): ("photo",),
    ("ev_charger_installation", "Activity_accept"): ("id_card", "property"),
    ("pv_connection", "Activity_accept"): ("id_card", "property"),
    ("energy_efficiency", "Activity_accept"): ("id_card", "load_list"),
}
_SAFE_NAME = re.compile(r"[^\w.\- ]", re.UNICODE)


class DocumentError(GridflowError):
    """A file refused: field → reason."""

    def __init__(self, field_errors: dict[str, str]):
        self.field_errors = field_errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in field_errors.items()))


@dataclass(frozen=True)
class Upload:
    """A file as checked, not yet kept."""

    kind: str
    original_name: str
    content_type: str
    extension: str
    content: bytes


@dataclass(frozen=True)
class Kept:
    upload: Upload
    stored_name: str


def check(kind: str, original_name: str, content: bytes) -> Upload:
    """The upload if its content is PDF, JPEG or PNG (images only for photos) and not too
    big; DocumentError naming the field otherwise."""
    if kind not in KINDS:
        raise DocumentError({kind: "not a kind of document taken"})
    if len(content) > MAX_BYTES:
        raise DocumentError({kind: f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB"})
    if not content:
        raise DocumentError({kind: "the file is empty"})
    for magic, content_type, extension in SIGNATURES:
        if content.startswith(magic):
            if kind == "photo" and content_type not in IMAGES:
                raise DocumentError({kind: "a photo must be a JPEG or PNG picture"})
            name = _SAFE_NAME.sub("_", Path(original_name or "").name)[:200] or extension
            return Upload(kind, name, content_type, extension, content)
    raise DocumentError({kind: "the file is not a PDF, JPEG or PNG"})


def keep(folder: Path, uploads: list[Upload]) -> list[Kept]:
    """Write checked uploads under random names (the caller removes them if its transaction
    fails)."""
    folder.mkdir(parents=True, exist_ok=True)
    kept: list[Kept] = []
    try:
        for upload in uploads:
            stored = f"{secrets.token_hex(16)}.{upload.extension}"
            path = folder / stored
            with open(path, "xb") as file:  # never overwrites
                file.write(upload.content)
            kept.append(Kept(upload, stored))
    except OSError:
        discard(folder, kept)
        raise
    return kept


def discard(folder: Path, kept: list[Kept]) -> None:
    for item in kept:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(folder / item.stored_name)


def record(
    connection: Connection, rt: Runtime, demand_id: int, uploader_id: int, kept: list[Kept]
) -> None:
    """The document rows, in the transaction that takes the demand in."""
    if not kept:
        return
    now = to_ms(rt.clock.now())
    connection.execute(
        insert(Document),
        [
            {
                "demand_id": demand_id,
                "kind": k.upload.kind,
                "stored_name": k.stored_name,
                "original_name": k.upload.original_name,
                "content_type": k.upload.content_type,
                "size": len(k.upload.content),
                "sha256": hashlib.sha256(k.upload.content).hexdigest(),
                "uploaded_at": now,
                "uploaded_by": uploader_id,
            }
            for k in kept
        ],
    )


@dataclass(frozen=True)
class Shown:
    id: int
    kind: str
    original_name: str
    content_type: str
    size: int


def for_link(rt: Runtime, demand_id: int | None, process_id: str, element_id: str) -> list[Shown]:
    """The demand's documents the link needs (none for links that need none)."""
    kinds = NEEDED_BY.get((process_id, element_id), ())
    if demand_id is None or not kinds:
        return []
    with rt.db.read() as session:
        rows = session.scalars(
            select(Document)
            .where(Document.demand_id == demand_id, Document.kind.in_(kinds))
            .order_by(Document.id)
        ).all()
        return [Shown(d.id, d.kind, d.original_name, d.content_type, d.size) for d in rows]


def path_for(
    rt: Runtime,
    folder: Path,
    document_id: int,
    demand_id: int | None,
    process_id: str,
    element_id: str,
) -> tuple[Path, Shown]:
    """The file of one document, if it belongs to the demand and the link needs it."""
    shown = {d.id: d for d in for_link(rt, demand_id, process_id, element_id)}
    if document_id not in shown:
        raise NotFoundError(f"document {document_id} is not one this link needs")
    with rt.db.read() as session:
        stored = session.scalar(select(Document.stored_name).where(Document.id == document_id))
    assert stored is not None
    return folder / stored, shown[document_id]


def count(rt: Runtime) -> int:
    with rt.db.read() as session:
        return int(session.scalar(select(func.count(Document.id))) or 0)
