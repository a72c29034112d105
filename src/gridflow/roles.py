"""The roles that own process lanes, their departments and their side (front-end or back-end).

Loaded from `processes/roles.yaml`; a lane's name must name one of these roles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from gridflow.errors import ConfigurationError

SIDES = ("front", "back", "management", "staff", "customer")


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    name_zh: str


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    name_zh: str
    department: Department
    side: str
    owns_lanes: bool = True

    @property
    def front_end(self) -> bool:
        return self.side == "front"


class RoleBook:
    """All roles, looked up by id or by the lane name a process designer wrote."""

    def __init__(self, roles: Mapping[str, Role]):
        self.roles = dict(roles)
        self._by_lane: dict[str, Role] = {}
        for role in self.roles.values():
            if role.owns_lanes:
                self._by_lane[role.id.casefold()] = role
                self._by_lane[role.name.casefold()] = role

    def __getitem__(self, role_id: str) -> Role:
        return self.roles[role_id]

    def __contains__(self, role_id: object) -> bool:
        return role_id in self.roles

    def for_lane(self, lane_name: str | None) -> Role | None:
        """The role a lane belongs to, or None when the lane's name names no lane-owning role."""
        if not lane_name:
            return None
        return self._by_lane.get(" ".join(lane_name.split()).casefold())

    def lane_names(self) -> list[str]:
        return [r.name for r in self.roles.values() if r.owns_lanes]

    def holds_work(self, role_ids: frozenset[str] | set[str] | list[str]) -> bool:
        """Whether someone with these roles may hold links: a lane-owning role, or admin.
        Designers, auditors and integration accounts never hold work, whatever is handed to
        them."""
        return "admin" in role_ids or any(
            r in self.roles and self.roles[r].owns_lanes for r in role_ids
        )

    @classmethod
    def load(cls, path: Path) -> RoleBook:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigurationError(f"{path}: roles file not found") from exc
        except yaml.YAMLError as exc:
            raise ConfigurationError(f"{path}: not valid YAML: {exc}") from exc
        return cls.from_mapping(raw, str(path))

    @classmethod
    def from_mapping(cls, raw: object, source: str = "roles") -> RoleBook:
        if not isinstance(raw, dict) or not isinstance(raw.get("roles"), dict):
            raise ConfigurationError(f"{source}: expected a mapping with 'departments' and 'roles'")
        departments: dict[str, Department] = {}
        for dep_id, dep in (raw.get("departments") or {}).items():
            if not isinstance(dep, dict) or not dep.get("name"):
                raise ConfigurationError(f"{source}: department {dep_id!r} needs a name")
            departments[dep_id] = Department(
                dep_id, str(dep["name"]), str(dep.get("name_zh") or dep["name"])
            )
        roles: dict[str, Role] = {}
        for role_id, spec in raw["roles"].items():
            if not isinstance(spec, dict) or not spec.get("name"):
                raise ConfigurationError(f"{source}: role {role_id!r} needs a name")
            dep_id = spec.get("department")
            if dep_id not in departments:
                raise ConfigurationError(
                    f"{source}: role {role_id!r} names unknown department {dep_id!r}"
                )
            side = spec.get("side")
            if side not in SIDES:
                raise ConfigurationError(
                    f"{source}: role {role_id!r} has side {side!r}; expected one of {SIDES}"
                )
            roles[role_id] = Role(
                id=role_id,
                name=spec["name"],
                name_zh=str(spec.get("name_zh") or spec["name"]),
                department=departments[dep_id],
                side=side,
                owns_lanes=bool(spec.get("lanes", True)),
            )
        return cls(roles)


@dataclass(frozen=True)
class Actor:
    """Someone acting: a member of staff with their role ids, or the system itself."""

    username: str
    roles: frozenset[str] = frozenset()
    is_system: bool = False
    # False for read-only people (auditors, designers, integration accounts): a link handed to
    # them is still not theirs to claim or complete.
    holds_work: bool = True

    def may_work_as(self, role_id: str) -> bool:
        return self.is_system or role_id in self.roles or "admin" in self.roles

    def may_act_on(self, role_id: str, assignee: str | None) -> bool:
        """A link of one's roles, or one handed to oneself (if one holds work at all)."""
        return self.may_work_as(role_id) or (assignee == self.username and self.holds_work)

    def may_see(self, role_id: str, assignee: str | None, completed_by: str | None) -> bool:
        """What one may act on, and the links one completed."""
        return self.may_act_on(role_id, assignee) or completed_by == self.username


SYSTEM = Actor("system", is_system=True)
