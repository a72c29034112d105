"""What designers see of deployed processes: every process with its versions (who, when, content
hash, running and finished instances), deploying a file from the browser or the API, and the
difference between two versions element by element (standards and forms included)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree
from sqlalchemy import func, select

from gridflow import catalog, decision_catalog, decisions, definitions
from gridflow.bpmn import BPMN_NS, CAMUNDA_NS, FLOW_NODES
from gridflow.catalog import Deployment
from gridflow.definitions import ProcessDefinition
from gridflow.errors import NotFoundError
from gridflow.models import Definition, DeployRecord, Instance, InstanceMigration
from gridflow.runtime import Runtime

# `gettext` only marks a refusal for the catalogue; the page translates it (texts.refusal).
from gridflow.texts import _ as gettext

CHANNELS = ("cli", "upload", "modeler", "api", "designer")
_NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}


@dataclass(frozen=True)
class Version:
    """One deployed version of a process, with how many of its instances run and finished."""

    definition_id: int
    process_id: str
    version: int
    name: str
    content_hash: str
    file_name: str
    deployed_at: datetime
    deployed_by: str
    running: int = 0
    finished: int = 0


@dataclass(frozen=True)
class Process:
    process_id: str
    name: str
    category: str | None
    versions: list[Version] = field(default_factory=list)  # newest first

    @property
    def latest(self) -> Version:
        return self.versions[0]

    def version(self, number: int) -> Version:
        for version in self.versions:
            if version.version == number:
                return version
        raise NotFoundError(
            gettext("process %(process)s has no version %(version)s"),
            process=repr(self.process_id),
            version=number,
        )


def processes(rt: Runtime) -> list[Process]:
    """Every deployed process (by name) with its versions, newest first."""
    with rt.db.read() as session:
        rows = session.execute(
            select(
                Definition.id,
                Definition.process_id,
                Definition.version,
                Definition.name,
                Definition.category,
                Definition.content_hash,
                Definition.file_name,
                Definition.deployed_at,
                Definition.deployed_by,
            ).order_by(Definition.process_id, Definition.version.desc())
        ).all()
        counts: dict[tuple[int, str], int] = {
            (row.definition_id, row.status): row.n
            for row in session.execute(
                select(Instance.definition_id, Instance.status, func.count().label("n")).group_by(
                    Instance.definition_id, Instance.status
                )
            )
        }
    result: dict[str, Process] = {}
    for row in rows:
        process = result.get(row.process_id)
        if process is None:
            # Rows come newest first: the process shows its newest name.
            process = result[row.process_id] = Process(row.process_id, row.name, row.category)
        process.versions.append(
            Version(
                definition_id=row.id,
                process_id=row.process_id,
                version=row.version,
                name=row.name,
                content_hash=row.content_hash,
                file_name=row.file_name,
                deployed_at=row.deployed_at,
                deployed_by=row.deployed_by,
                running=counts.get((row.id, "running"), 0),
                finished=sum(n for (d, s), n in counts.items() if d == row.id and s != "running"),
            )
        )
    return sorted(result.values(), key=lambda p: p.name.casefold())


def process(rt: Runtime, process_id: str) -> Process:
    for found in processes(rt):
        if found.process_id == process_id:
            return found
    raise NotFoundError(gettext("process %(process)s is not deployed"), process=repr(process_id))


def bpmn_of(rt: Runtime, definition_id: int) -> tuple[str, bytes]:
    """The file name and the exact bytes of a deployed version."""
    with rt.db.read() as session:
        row = session.get(Definition, definition_id)
        if row is None:
            raise NotFoundError(gettext("definition %(id)s does not exist"), id=definition_id)
        return row.file_name, row.bpmn_xml


def deploy_bpmn(rt: Runtime, xml: bytes, file_name: str, actor: str, channel: str) -> Deployment:
    """Lint BPMN text as `gridflow lint` does and deploy it when clean: the next version, or
    the existing one for unchanged content. DefinitionError (nothing deployed) otherwise."""
    assert channel in CHANNELS
    definition = definitions.parse(xml, file_name, rt.roles)
    latest = latest_bytes(rt, definition.process_id)
    if latest is not None and same_content(latest, xml):
        # The modeler writes the file anew (prefixes, order, exporter): the same content in
        # other bytes is the newest version again, not a new one.
        definition = definitions.parse(latest, file_name, rt.roles)
    return catalog.deploy(rt, [definition], actor, channel)[0]


@dataclass(frozen=True)
class DeployPreview:
    """What a deploy of this content would do, for the confirmation: `unchanged` (it is the
    newest version's content), else the next version number and how many running instances
    stay on the versions they run."""

    process_id: str
    unchanged: bool
    latest_version: int | None
    next_version: int
    running_stay: int


def preview_bpmn(rt: Runtime, xml: bytes, file_name: str) -> DeployPreview:
    """Lint as a deploy would (DefinitionError naming the problems) and say what it would do,
    deploying nothing."""
    definition = definitions.parse(xml, file_name, rt.roles)
    with rt.db.read() as session:
        latest = session.execute(
            select(Definition.version, Definition.bpmn_xml)
            .where(Definition.process_id == definition.process_id)
            .order_by(Definition.version.desc())
            .limit(1)
        ).first()
        running = session.scalar(
            select(func.count(Instance.id))
            .join(Definition, Definition.id == Instance.definition_id)
            .where(Definition.process_id == definition.process_id, Instance.status == "running")
        )
    if latest is None:
        return DeployPreview(definition.process_id, False, None, 1, 0)
    unchanged = same_content(latest.bpmn_xml, xml)
    return DeployPreview(
        definition.process_id,
        unchanged,
        latest.version,
        latest.version if unchanged else latest.version + 1,
        int(running or 0),
    )


def latest_bytes(rt: Runtime, process_id: str) -> bytes | None:
    with rt.db.read() as session:
        return session.scalar(
            select(Definition.bpmn_xml)
            .where(Definition.process_id == process_id)
            .order_by(Definition.version.desc())
            .limit(1)
        )


# Attributes a tool writes about itself, not about the process.
_TOOL_ATTRIBUTES = frozenset({"exporter", "exporterVersion"})
_DIAGRAM = "{http://www.omg.org/spec/BPMN/20100524/DI}BPMNDiagram"


def canonical_content(xml: bytes) -> tuple[object, ...]:
    """A file's content as a tree of (namespace-qualified tag, sorted attributes, stripped
    text, children): the same for two files that differ only in namespace prefixes, attribute
    order, indentation, comments, the exporter's name or the diagram's layout (bpmn-js
    rewrites label bounds on every save). As `diff`, layout is not content: a new version
    needs a change of the process itself."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
    )
    root = etree.fromstring(xml, parser)

    def walk(element: etree._Element) -> tuple[object, ...]:
        attributes = tuple(
            sorted(
                (str(name), str(value))
                for name, value in element.attrib.items()
                if str(name) not in _TOOL_ATTRIBUTES
            )
        )
        children = tuple(
            walk(child) for child in element if isinstance(child.tag, str) and child.tag != _DIAGRAM
        )
        return (str(element.tag), attributes, (element.text or "").strip(), children)

    return walk(root)


def same_content(old: bytes, new: bytes) -> bool:
    try:
        return canonical_content(old) == canonical_content(new)
    except etree.XMLSyntaxError:
        return False


def deploy_dmn(
    rt: Runtime, xml: bytes, file_name: str, actor: str, channel: str
) -> list[decision_catalog.DecisionDeployment]:
    """Lint .dmn text as `gridflow lint` does and deploy its decisions when clean: each the
    next version, or the existing one for unchanged content. DefinitionError otherwise."""
    assert channel in CHANNELS
    return catalog.deploy_decisions(rt, [decisions.parse_dmn(xml, file_name)], actor, channel)


@dataclass(frozen=True)
class Record:
    """A deploy or a migration, for the process's history."""

    at: datetime
    actor: str
    kind: str  # deploy | rollback | unchanged | migration
    channel: str
    version: int
    from_version: int | None = None
    instance_id: int | None = None


def history(rt: Runtime, process_id: str, limit: int = 100) -> list[Record]:
    """Every deploy and migration of a process with who and when, newest first."""
    with rt.db.read() as session:
        deploys = [
            Record(
                r.at,
                r.actor,
                _kind(r),
                r.channel,
                r.version,
                # A rollback: the version whose content it repeats.
                from_version=r.restores_version,
            )
            for r in session.scalars(
                select(DeployRecord)
                .where(DeployRecord.process_id == process_id)
                .order_by(DeployRecord.id.desc())
                .limit(limit)
            )
        ]
        moves = [
            Record(m.at, m.actor, "migration", "", m.to_version, m.from_version, m.instance_id)
            for m in session.scalars(
                select(InstanceMigration)
                .where(InstanceMigration.process_id == process_id)
                .order_by(InstanceMigration.id.desc())
                .limit(limit)
            )
        ]
    return sorted(deploys + moves, key=lambda r: r.at, reverse=True)[:limit]


def _kind(record: DeployRecord) -> str:
    if not record.created:
        return "unchanged"
    return "rollback" if record.restores_version is not None else "deploy"


# --- differences between two versions ---------------------------------------------------------


@dataclass(frozen=True)
class ElementChange:
    element_id: str
    name: str
    kind: str
    aspects: tuple[str, ...] = ()  # for a changed element: name, lane, standard, form, flow, …


@dataclass(frozen=True)
class VersionDiff:
    added: list[ElementChange]
    removed: list[ElementChange]
    changed: list[ElementChange]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff(old: ProcessDefinition, new: ProcessDefinition) -> VersionDiff:
    """Elements added, removed and changed from `old` to `new`, matched by element id; the
    diagram layout does not count."""
    before, after = _facets(old.xml), _facets(new.xml)
    added = [_change(after[i]) for i in after if i not in before]
    removed = [_change(before[i]) for i in before if i not in after]
    changed = []
    for element_id, facets in after.items():
        previous = before.get(element_id)
        if previous is None:
            continue
        aspects = tuple(k for k in facets.aspects if facets.aspects[k] != previous.aspects.get(k))
        if aspects:
            changed.append(_change(facets, aspects))
    return VersionDiff(added, removed, changed)


@dataclass
class _Facets:
    element_id: str
    name: str
    kind: str
    aspects: dict[str, object]


def _change(facets: _Facets, aspects: tuple[str, ...] = ()) -> ElementChange:
    return ElementChange(facets.element_id, facets.name, facets.kind, aspects)


def _local(element: etree._Element) -> str:
    return etree.QName(element.tag).localname if isinstance(element.tag, str) else ""


def _canonical(element: etree._Element | None) -> bytes:
    if element is None:
        return b""
    # Exclusive: only the namespaces the element uses, whatever the file's root declares.
    return etree.tostring(element, method="c14n", exclusive=True)


def _facets(xml: bytes) -> dict[str, _Facets]:
    """Each process element by id with what a designer would call its parts."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(xml, parser)  # deployed files were linted: no DTD, no entities
    process = next(p for p in root.findall("bpmn:process", _NS) if p.get("isExecutable") == "true")
    lane_of: dict[str, str] = {}
    result: dict[str, _Facets] = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.findall("bpmn:flowNodeRef", _NS):
            lane_of[(ref.text or "").strip()] = lane.get("name") or ""
        result[lane.get("id", "")] = _Facets(
            lane.get("id", ""), lane.get("name") or "", "lane", {"name": lane.get("name") or ""}
        )
    for element in process.iter():
        kind = _local(element)
        element_id = element.get("id")
        if not element_id or (kind not in FLOW_NODES and kind != "sequenceFlow"):
            continue
        extensions = element.find("bpmn:extensionElements", _NS)
        properties = {
            p.get("name"): p.get("value")
            for p in element.findall(
                "bpmn:extensionElements/camunda:properties/camunda:property", _NS
            )
        }
        standard = {k: v for k, v in properties.items() if k and k.startswith("standard_")}
        others = {k: v for k, v in properties.items() if k and not k.startswith("standard_")}
        rest = etree.fromstring(etree.tostring(element))
        rest.attrib.pop("name", "")
        for child in list(rest):
            if _local(child) in FLOW_NODES or _local(child) in (
                "extensionElements",
                "incoming",
                "outgoing",
                "sequenceFlow",
                "laneSet",
            ):
                rest.remove(child)
        aspects: dict[str, object] = {
            "name": element.get("name") or "",
            "lane": lane_of.get(element_id, ""),
            "standard": standard,
            "form": _canonical(
                extensions.find("camunda:formData", _NS) if extensions is not None else None
            ),
            "properties": others,
            "definition": _canonical(rest),
        }
        if kind == "sequenceFlow":
            aspects.pop("lane")
        result[element_id] = _Facets(element_id, element.get("name") or element_id, kind, aspects)
    return result
