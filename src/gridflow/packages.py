"""Service packages (processes/packages.yaml): an EV charger with metering, rooftop PV with
grid connection, an energy-efficiency audit. Offer rules there say which demands a package
fits; each fitting package is offered once per demand when the demand is taken in, and the
customer's answer (or staff's, recording it for them) is kept. Accepting starts the package's
processes in the same demand, on its timeline, in the answer's transaction.

Public API:

- `catalogue(folder=None) -> Catalogue`: the packages and offer rules (read again when the
  file changes); `lint(path, process_ids) -> list[Problem]` for `gridflow lint`.
- `offer(rt, demand_id) -> list[Offer]`: make the offers the demand's data fits (idempotent).
- `offer_taken_in(connection, demand_id, data, now, book)`: the same, inside the transaction
  that takes a new demand in (`demands.create_demand` calls it).
- `offers_for(rt, demand_id) -> list[Offer]`
- `answer(rt, offer_id, accept, actor) -> Offer`: accepted (its processes started) or declined;
  AlreadyAnswered (409) when it was answered before.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import yaml
from sqlalchemy import Connection, Table, select, update
from sqlalchemy.exc import IntegrityError

from gridflow.errors import (
    ConflictError,
    DefinitionError,
    ExpressionError,
    NotFoundError,
    Problem,
)
from gridflow.expressions import Expression, compile_expression
from gridflow.instances import start_instance
from gridflow.models import Demand, PackageOffer, to_ms
from gridflow.roles import Actor
from gridflow.rules import _LineLoader
from gridflow.rules import read as read_text
from gridflow.runtime import Runtime, processes_dir

# `gettext` only marks a refusal for the catalogue; the page translates it (texts.refusal).
from gridflow.texts import _ as gettext

PACKAGES_FILE = "packages.yaml"
OFFERS = cast(Table, PackageOffer.__table__)
# What an offer's condition may read: the demand's data.
DEMAND_FIELDS = frozenset(
    {"category", "customer_category", "channel", "voltage", "capacity_kw", "supply", "area"}
)
LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class Package:
    id: str
    name: Mapping[str, str]
    description: Mapping[str, str]
    processes: tuple[str, ...]


@dataclass(frozen=True)
class OfferRule:
    id: str
    package: str
    when: Expression
    reason: Mapping[str, str]

    def fits(self, data: Mapping[str, object]) -> bool:
        try:
            return bool(self.when.evaluate(dict(data)))
        except ExpressionError:
            return False  # the demand lacks a field the rule reads: it does not fit


@dataclass(frozen=True)
class Catalogue:
    packages: Mapping[str, Package] = field(default_factory=dict)
    offers: tuple[OfferRule, ...] = ()


@dataclass(frozen=True)
class Offer:
    id: int
    demand_id: int
    package: Package
    rule_id: str
    offered_at: datetime
    state: str  # offered | accepted | declined
    answered_by: str | None
    answered_at: datetime | None
    instance_ids: tuple[int, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "package": self.package.id,
            "name": dict(self.package.name),
            "state": self.state,
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "instance_ids": list(self.instance_ids),
        }


class AlreadyAnswered(ConflictError):
    """The offer was accepted or declined before."""


# --- the catalogue ------------------------------------------------------------------------------


def _labels(value: object) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    found = {lang: value.get(lang) for lang in LANGUAGES}
    if not all(isinstance(text, str) and text.strip() for text in found.values()):
        return None
    return {lang: str(text).strip() for lang, text in found.items()}


def parse(
    text: str, file: str, process_ids: frozenset[str] | None
) -> tuple[Catalogue, list[Problem]]:
    """The catalogue in a packages file and its problems (file, line, package or offer)."""
    problems: list[Problem] = []

    def problem(line: object, where: str | None, message: str) -> None:
        problems.append(Problem(file, line if isinstance(line, int) else None, where, message))

    try:
        raw = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem(mark.line + 1 if mark else None, None, f"not valid YAML: {exc}")
        return Catalogue(), problems
    if not isinstance(raw, dict):
        problem(None, None, "the file must be a mapping with packages and offers")
        return Catalogue(), problems
    packages: dict[str, Package] = {}
    raw_packages = raw.get("packages")
    if not isinstance(raw_packages, dict):
        problem(raw.get("__line__"), None, "packages: a mapping of package id to its entry")
        raw_packages = {}
    for package_id, spec in raw_packages.items():
        if package_id == "__line__":
            continue
        if not isinstance(spec, dict):
            problem(raw_packages.get("__line__"), str(package_id), "must be a mapping")
            continue
        line = spec.get("__line__")
        unknown = set(spec) - {"__line__", "name", "description", "processes"}
        if unknown:
            problem(line, str(package_id), f"unknown key(s) {sorted(unknown)}")
        name, description = _labels(spec.get("name")), _labels(spec.get("description"))
        if name is None or description is None:
            problem(line, str(package_id), "name and description need en and zh texts")
        processes = spec.get("processes")
        if (
            not isinstance(processes, list)
            or not processes
            or not all(isinstance(p, str) for p in processes)
        ):
            problem(line, str(package_id), "processes: a list of process ids")
            continue
        if process_ids is not None:
            for process_id in processes:
                if process_id not in process_ids:
                    problem(line, str(package_id), f"no process {process_id!r} in the folder")
        if name is not None and description is not None:
            packages[str(package_id)] = Package(
                str(package_id), name, description, tuple(processes)
            )
    rules: list[OfferRule] = []
    raw_offers = raw.get("offers")
    if not isinstance(raw_offers, list):
        problem(raw.get("__line__"), None, "offers: a list of offer rules")
        raw_offers = []
    seen: set[str] = set()
    for spec in raw_offers:
        if not isinstance(spec, dict):
            problem(None, None, "an offer must be a mapping")
            continue
        line, offer_id = spec.get("__line__"), spec.get("id")
        where = str(offer_id)
        unknown = set(spec) - {"__line__", "id", "package", "when", "reason"}
        if unknown:
            problem(line, where, f"unknown key(s) {sorted(unknown)}")
        if not isinstance(offer_id, str) or not offer_id or offer_id in seen:
            problem(line, where, "each offer needs an id of its own")
            continue
        seen.add(offer_id)
        package_id = spec.get("package")
        if package_id not in packages:
            problem(line, where, f"package {package_id!r} is not in the catalogue")
            continue
        reason = _labels(spec.get("reason"))
        if reason is None:
            problem(line, where, "reason needs en and zh texts")
            continue
        try:
            when = compile_expression(str(spec.get("when", "")))
        except ExpressionError as exc:
            problem(line, where, f"when: {exc}")
            continue
        unknown_names = sorted(when.names - DEMAND_FIELDS)
        if unknown_names:
            problem(
                line,
                where,
                f"when reads {', '.join(unknown_names)}: a demand has "
                f"{', '.join(sorted(DEMAND_FIELDS))}",
            )
            continue
        rules.append(OfferRule(offer_id, str(package_id), when, reason))
    return Catalogue(packages, tuple(rules)), problems


def lint(path: Path, process_ids: frozenset[str]) -> list[Problem]:
    """The problems of a packages file (for `gridflow lint`)."""
    try:
        text = read_text(path)
    except DefinitionError as exc:
        return list(exc.problems)
    return parse(text, str(path), process_ids)[1]


_cache: dict[tuple[str, float], Catalogue] = {}
_cache_lock = threading.Lock()


def catalogue(folder: Path | None = None) -> Catalogue:
    """The packages in `folder`/packages.yaml (default: the processes folder); none when the
    file is missing; DefinitionError when it has problems."""
    path = (folder or processes_dir()) / PACKAGES_FILE
    if not path.exists():
        return Catalogue()
    stamp = (str(path.resolve()), path.stat().st_mtime)
    with _cache_lock:
        if stamp not in _cache:
            found, problems = parse(read_text(path), str(path), None)
            if problems:
                raise DefinitionError(problems)
            _cache[stamp] = found
        return _cache[stamp]


# --- offers and answers -------------------------------------------------------------------------


def _demand_data(row: Any) -> dict[str, object]:  # noqa: ANN401 - a demands row
    return demand_data(row.details or {}, row.category, row.customer_category, row.channel)


def demand_data(
    details: Mapping[str, object], category: str, customer_category: str, channel: str
) -> dict[str, object]:
    """What an offer rule reads of a demand: its details and its three columns."""
    data = {k: v for k, v in details.items() if k in DEMAND_FIELDS}
    data.update(category=category, customer_category=customer_category, channel=channel)
    return data


def _offer_row(demand_id: int, rule: OfferRule, now: datetime) -> dict[str, object]:
    return {
        "demand_id": demand_id,
        "package_id": rule.package,
        "reason": rule.id,
        "offered_at": now,
        "state": "offered",
        "instance_ids": [],
    }


def offer_taken_in(
    connection: Connection,
    demand_id: int,
    data: Mapping[str, object],
    now: datetime,
    book: Catalogue,
) -> None:
    """The offers a demand's data fits, made in the transaction that takes the demand in (as
    `offer` makes them: each package once, for the first rule of it that fits; a new demand has
    no offers yet, so nothing is read first)."""
    offered: set[str] = set()
    for rule in book.offers:
        if rule.package in offered or not rule.fits(data):
            continue
        offered.add(rule.package)
        connection.execute(OFFERS.insert(), _offer_row(demand_id, rule, now))


def offer(rt: Runtime, demand_id: int, book: Catalogue | None = None) -> list[Offer]:
    """Offer each package whose rule the demand's data fits, once per demand and package;
    returns the demand's offers."""
    book = book or catalogue()
    with rt.db.snapshot() as connection:
        row = connection.execute(select(Demand).where(Demand.id == demand_id)).first()
    if row is None:
        raise NotFoundError(f"demand {demand_id} does not exist")
    data = _demand_data(row)
    now = to_ms(rt.clock.now())
    for rule in book.offers:
        if not rule.fits(data):
            continue
        try:
            with rt.db.transaction() as connection:
                connection.execute(OFFERS.insert(), _offer_row(demand_id, rule, now))
        except IntegrityError:
            continue  # offered already (another rule, or a retry)
    return offers_for(rt, demand_id, book)


def offers_for(rt: Runtime, demand_id: int, book: Catalogue | None = None) -> list[Offer]:
    book = book or catalogue()
    with rt.db.snapshot() as connection:
        rows = connection.execute(
            select(OFFERS).where(OFFERS.c.demand_id == demand_id).order_by(OFFERS.c.id)
        ).all()
    return [_offer(row, book) for row in rows if row.package_id in book.packages]


def reason_of(offer_row: Offer, book: Catalogue | None = None) -> Mapping[str, str]:
    """Why the package was offered, in both languages."""
    book = book or catalogue()
    for rule in book.offers:
        if rule.id == offer_row.rule_id:
            return rule.reason
    return {}


def _offer(row: Any, book: Catalogue) -> Offer:  # noqa: ANN401 - a package_offers row
    return Offer(
        row.id,
        row.demand_id,
        book.packages[row.package_id],
        row.reason,
        row.offered_at,
        row.state,
        row.answered_by,
        row.answered_at,
        tuple(int(i) for i in row.instance_ids or ()),
    )


# An offer no longer open, one sentence per state (the state is a code, not words).
_ANSWERED_ALREADY = {
    "accepted": gettext("this offer was accepted already"),
    "declined": gettext("this offer was declined already"),
}


def answer(rt: Runtime, offer_id: int, accept: bool, actor: Actor) -> Offer:
    """The customer's answer (recorded by them, or by staff for them). Accepting starts the
    package's processes in the offer's demand, with the demand's data, in one transaction."""
    book = catalogue()
    now = to_ms(rt.clock.now())
    with rt.db.transaction() as connection:
        row = connection.execute(select(OFFERS).where(OFFERS.c.id == offer_id)).first()
        if row is None or row.package_id not in book.packages:
            raise NotFoundError(gettext("offer %(id)s does not exist"), id=offer_id)
        if row.state != "offered":
            answered = _ANSWERED_ALREADY.get(row.state, "this offer was %(state)s already")
            raise AlreadyAnswered(answered, state=row.state)
        started: list[int] = []
        if accept:
            demand = connection.execute(select(Demand).where(Demand.id == row.demand_id)).one()
            variables = {**(demand.details or {}), "customer_name": demand.customer_name}
            for process_id in book.packages[row.package_id].processes:
                started.append(
                    start_instance(
                        rt,
                        process_id,
                        variables,
                        business_key=demand.reference,
                        demand_id=demand.id,
                        actor=actor,
                        connection=connection,
                    ).instance_id
                )
        done = connection.execute(
            update(OFFERS)
            .where(OFFERS.c.id == offer_id, OFFERS.c.state == "offered")
            .values(
                state="accepted" if accept else "declined",
                answered_by=actor.username,
                answered_at=now,
                instance_ids=started,
            )
        )
        if done.rowcount != 1:
            raise AlreadyAnswered(gettext("this offer was answered meanwhile"))
    found = [o for o in offers_for(rt, row.demand_id, book) if o.id == offer_id]
    return found[0]
