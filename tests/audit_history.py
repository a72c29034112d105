"""A hand-built event history of the low-voltage residential connection, with times chosen so
every figure can be worked out by hand (Beijing time; working hours 09:00-12:00 and
13:30-17:30, 7 h a day; Qingming 2026: Saturday 4 to Monday 6 April off).

    instance 1 (residential, finished)
      accept  ready Thu 2 Apr 09:00, claimed 10:00, completed Tue 7 Apr 10:00 by manager1
              waiting 1 h (working 1 h); handling 5 days (working: Thu 6 h + Fri 7 h +
              Tue 1 h = 14 h, the weekend and the Qingming Monday count nothing);
              due Fri 3 Apr 17:30 (2 WD): a breach. Escalated at its due time.
      line    ready Tue 7 Apr 10:00, claimed 14:00, completed 16:00 by builder1
              (build the external line, construction, 10 WD)
              waiting 4 h (working 2 h 30: the lunch break counts nothing); handling 2 h
    instance 2 (business, running): accept done twice (rework)
      accept  ready Wed 8 Apr 09:00, claimed 09:30, completed 11:00 by manager2
      accept  ready Wed 8 Apr 11:00, claimed 13:00, completed 15:00 by manager1
              waiting 2 h (working 1 h), handling 2 h (working 1 h 30)
    instance 3 (residential, running)
      accept  ready Fri 10 Apr 17:00; claimed 17:10 by manager1, released 17:20;
              claimed Mon 13 Apr 09:00 by manager2, completed 09:30
              waiting 64 h (working 30 min: the weekend counts nothing); handling 30 min

The meter installation that really follows (a called process since issue 10, with its own
instance) is left out: the figures of two links of one diagram are the point here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from gridflow import work_items
from gridflow.models import Demand, Instance, TaskEvent, WorkItem
from gridflow.runtime import Runtime

BEIJING = timezone(timedelta(hours=8))
PROCESS = "lv_residential_connection"
ACCEPT = "Activity_accept"
BUILD = "Activity_build_external_line"
HOUR = 3600.0


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 4, day, hour, minute, tzinfo=BEIJING)


@dataclass
class History:
    definition_id: int
    instances: list[int]
    accept_name: str
    build_name: str


def build(rt: Runtime) -> History:
    deployed = rt.latest(PROCESS)
    links = deployed.definition.links
    with rt.db.write() as session:
        demands = []
        for n, category in enumerate(("residential", "business", "residential"), start=1):
            demand = Demand(
                reference=f"D-AUDIT-{n}",
                customer_name=f'Wang & Sons <"{n}">',
                customer_category=category,
                channel="counter",
                category="connection",
                address="",
                details={},
                created_at=local(2, 8),
                created_by="test",
            )
            session.add(demand)
            demands.append(demand)
        session.flush()
        instances = []
        for n, demand in enumerate(demands, start=1):
            finished = n == 1
            instance = Instance(
                definition_id=deployed.definition_id,
                demand_id=demand.id,
                business_key=demand.reference,
                status="completed" if finished else "running",
                started_at=(local(2, 9), local(8, 9), local(10, 17))[n - 1],
                ended_at=local(7, 16) if finished else None,
                document="",
                variables={},
            )
            session.add(instance)
            instances.append(instance)
        session.flush()

        def execution(
            instance: Instance,
            element_id: str,
            ready: datetime,
            claimed: datetime,
            ended: datetime,
            person: str,
            before: list[tuple[str, datetime, str | None]] = (),  # type: ignore[assignment]
        ) -> None:
            link = links[element_id]
            due = rt.calendar.due(ready, link.standard.target, link.standard.basis)
            item = WorkItem(
                instance_id=instance.id,
                definition_id=deployed.definition_id,
                task_id=str(uuid.uuid4()),
                element_id=element_id,
                link_name=link.name,
                lane=link.lane,
                role=link.role.id,
                department=link.department,
                customer_facing=link.customer_facing,
                state="completed",
                assignee=person,
                ready_at=ready,
                claimed_at=claimed,
                ended_at=ended,
                completed_by=person,
                due_at=due,
                standard_target=link.standard.target,
                standard_basis=link.standard.basis,
                form_data={},
            )
            work_items.set_durations(rt, item)
            session.add(item)
            session.flush()
            trail = [("ready", ready, None), *before, ("claimed", claimed, person)]
            trail.append(("completed", ended, person))
            for lifecycle, at, actor in sorted(trail, key=lambda t: t[1]):
                session.add(
                    TaskEvent(
                        work_item_id=item.id,
                        instance_id=instance.id,
                        definition_id=deployed.definition_id,
                        element_id=element_id,
                        link_name=link.name,
                        lifecycle=lifecycle,
                        at=at,
                        actor=actor,
                        lane=link.lane,
                        role=link.role.id,
                        department=link.department,
                        details=None,
                    )
                )
                session.flush()

        first, second, third = instances
        execution(
            first,
            ACCEPT,
            local(2, 9),
            local(2, 10),
            local(7, 10),
            "manager1",
            [("escalated", local(3, 17, 30), "system")],
        )
        execution(first, BUILD, local(7, 10), local(7, 14), local(7, 16), "builder1")
        execution(second, ACCEPT, local(8, 9), local(8, 9, 30), local(8, 11), "manager2")
        execution(second, ACCEPT, local(8, 11), local(8, 13), local(8, 15), "manager1")
        execution(
            third,
            ACCEPT,
            local(10, 17),
            local(13, 9),
            local(13, 9, 30),
            "manager2",
            [
                ("claimed", local(10, 17, 10), "manager1"),
                ("released", local(10, 17, 20), "manager1"),
            ],
        )
        ids = [i.id for i in instances]
    return History(deployed.definition_id, ids, links[ACCEPT].name, links[BUILD].name)
