"""Predicted completion dates against what happened, on the demo history.

The demo (gridflow.demo, the real engine on a simulated clock) brings demands over four weeks
and runs every one to its end. The predictor learns from the demands finished in the first
three weeks only, then replays each demand that arrived in the fourth week: at the start of
each of its links (the moment the link became ready), it predicts the demand's end as it would
have then (gridflow.predictions.predict_instance_at, history cut off at the end of week three).

Compared with the naive date: the sum of the standards, i.e. the link's own standard and then
each later link's standard laid one after another on its basis (the links the demand really
went through, so the naive date even knows the path taken).

Printed: the mean absolute error (calendar days) of the predictor's "likely by" (p50) date and
of the naive date, their ratio, and the share of demands finished by the "at the latest" (p90)
date, over every prediction, over those whose process had finished demands in the training
weeks and those without (with how far ahead their p90 lay), and at each demand's first link. A
high-voltage connection (and some PV connections and energy-efficiency packages) outlasts the
three weeks: none finished to learn from, only demands still running, which tell how long it
takes at least, and links that finished. For those the predictor's "at the latest" is no
earlier than the standards of what is left (the open link's, then every link certain to come,
laid on the working calendar).

    python bench/predict.py [--demands 400] [--seed 1] [--database sqlite:///predict.db]

With --database naming a demo made before (`gridflow demo --weeks 4`), no new demo is run.

Measured on 1 December 2026 (`python bench/predict.py`, 400 demands, seed 1; a shared machine,
load average 4.2 to 4.5 on 2 cores, which changes the run time only): 440 predictions for 87
demands; mean absolute error 3.33 calendar days against 14.43 for the naive date (77 % lower,
unchanged by the "at the latest" floor); 91.6 % of predictions finished by the p90 date
(71.8 % before the floor), 88.5 % of the 322 whose process had finished demands in the
training weeks, 94.3 % of demands by the p90 date given at their first link (86.2 % before).
The floor is cautious: all 118 predictions without finished history were met, their p90 on
average 60.3 days after the link's start against 26.1 days actually left (each standard is its
link's cap; the high-voltage ones about 76 against 32).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import select  # noqa: E402

from gridflow import predictions  # noqa: E402
from gridflow.clock import SimulatedClock  # noqa: E402
from gridflow.demo import DEMO_START, run_demo  # noqa: E402
from gridflow.models import Definition, Instance, WorkItem  # noqa: E402
from gridflow.runtime import Runtime, load_roles  # noqa: E402

WEEK = timedelta(weeks=1)
DAY_S = 86400.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demands", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", default=None, help="a demo database made before")
    args = parser.parse_args()

    url = args.database
    if url is None:
        folder = tempfile.mkdtemp(prefix="gridflow-predict-")
        url = f"sqlite:///{folder}/demo.db"
        began = time.perf_counter()
        result = run_demo(
            url, instances=args.demands, seed=args.seed, weeks=4, processes=ROOT / "processes"
        )
        print(
            f"demo: {result.demands} demands over 4 weeks from {DEMO_START:%Y-%m-%d}, "
            f"{result.links_completed} links, in {time.perf_counter() - began:.0f} s"
        )
    rt = Runtime.create(url, clock=SimulatedClock(DEMO_START), roles=load_roles())
    rt.db.migrate()  # a demo made before the predictor's tables
    recorded = predictions.refresh(rt)
    with rt.db.read() as session:
        start = session.scalar(select(Instance.started_at).order_by(Instance.started_at).limit(1))
    assert start is not None, "the database holds no demo"
    week_start = _monday_morning(rt, start)
    cutoff = week_start + 3 * WEEK
    test_until = cutoff + WEEK
    with rt.db.read() as session:
        roots = session.execute(
            select(Instance.id, Instance.definition_id, Instance.started_at, Instance.ended_at)
            .where(
                Instance.parent_instance_id.is_(None),
                Instance.demand_id.is_not(None),
                Instance.status == "completed",
                Instance.started_at >= cutoff,
                Instance.started_at < test_until,
            )
            .order_by(Instance.id)
        ).all()
        unfinished = session.scalar(
            select(Instance.id)
            .where(
                Instance.parent_instance_id.is_(None),
                Instance.status == "running",
                Instance.started_at >= cutoff,
                Instance.started_at < test_until,
            )
            .limit(1)
        )
    print(
        f"history: {recorded} finished demand processes recorded; trained on those finished "
        f"before {rt.calendar.to_local(cutoff):%Y-%m-%d %H:%M}; tested on {len(roots)} demands "
        f"arriving in the week after" + (" (some never finished: left out)" if unfinished else "")
    )
    errors_p50: list[float] = []
    errors_naive: list[float] = []
    within_p90: list[bool] = []
    first_within_p90: list[bool] = []
    # Predictions with finished demands of their process in the training weeks to learn from.
    learned_within_p90: list[bool] = []
    # Without: (finished by p90, days from the link's start to p90, days actually left).
    unlearned: list[tuple[bool, float, float]] = []
    by_basis: dict[str, int] = {}
    began = time.perf_counter()
    for root in roots:
        items = _family_items(rt, root.id)
        assert root.ended_at is not None
        for n, item in enumerate(items):
            at = item.ready_at
            estimate = predictions.predict_instance_at(rt, root.id, at, history_until=cutoff)
            naive = at
            for later in items[n:]:
                naive = rt.calendar.due(naive, later.standard_target, later.standard_basis)
            errors_p50.append(abs((estimate.likely_by - root.ended_at).total_seconds()) / DAY_S)
            errors_naive.append(abs((naive - root.ended_at).total_seconds()) / DAY_S)
            within_p90.append(root.ended_at <= estimate.at_the_latest)
            if estimate.basis not in ("running", "standard"):
                learned_within_p90.append(root.ended_at <= estimate.at_the_latest)
            else:
                unlearned.append(
                    (
                        root.ended_at <= estimate.at_the_latest,
                        (estimate.at_the_latest - at).total_seconds() / DAY_S,
                        (root.ended_at - at).total_seconds() / DAY_S,
                    )
                )
            if n == 0:
                first_within_p90.append(root.ended_at <= estimate.at_the_latest)
            by_basis[estimate.basis] = by_basis.get(estimate.basis, 0) + 1
    elapsed = time.perf_counter() - began
    mae, naive_mae = statistics.fmean(errors_p50), statistics.fmean(errors_naive)
    print(f"predictions: {len(errors_p50)} (one per link start) in {elapsed:.1f} s")
    print(f"  drawn from: {', '.join(f'{k} {v}' for k, v in sorted(by_basis.items()))}")
    print(f"mean absolute error, gridflow likely-by (p50): {mae:.2f} calendar days")
    print(f"mean absolute error, naive sum of standards:  {naive_mae:.2f} calendar days")
    print(f"error ratio gridflow / naive: {mae / naive_mae:.2f} ({1 - mae / naive_mae:.0%} lower)")
    print(
        f"finished by the at-the-latest (p90) date: {statistics.fmean(within_p90):.1%} "
        "of predictions"
    )
    print(
        f"  of the {len(learned_within_p90)} predictions with finished demands of their "
        f"process to learn from: {statistics.fmean(learned_within_p90):.1%}"
    )
    if unlearned:
        print(
            f"  of the {len(unlearned)} without: "
            f"{statistics.fmean(ok for ok, _, _ in unlearned):.1%}; their p90 on average "
            f"{statistics.fmean(p90 for _, p90, _ in unlearned):.1f} days after the link's "
            f"start, their end {statistics.fmean(left for _, _, left in unlearned):.1f}"
        )
    print(
        f"finished by the p90 date predicted at the first link: "
        f"{statistics.fmean(first_within_p90):.1%} of {len(first_within_p90)} demands"
    )


def _monday_morning(rt: Runtime, moment: datetime) -> datetime:
    local = rt.calendar.to_local(moment)
    monday = (local - timedelta(days=local.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return monday.astimezone(moment.tzinfo)


def _family_items(rt: Runtime, root_id: int) -> list[WorkItem]:
    """The root's links and those of the processes it called, in the order they became ready."""
    with rt.db.read() as session:
        family = [root_id]
        frontier = [root_id]
        while frontier:
            frontier = list(
                session.scalars(
                    select(Instance.id).where(Instance.parent_instance_id.in_(frontier))
                )
            )
            family.extend(frontier)
        return list(
            session.scalars(
                select(WorkItem)
                .join(Definition, Definition.id == WorkItem.definition_id)
                .where(WorkItem.instance_id.in_(family), WorkItem.state == "completed")
                .order_by(WorkItem.ready_at, WorkItem.id)
            )
        )


if __name__ == "__main__":
    main()
