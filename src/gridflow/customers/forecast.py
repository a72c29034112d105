"""The predicted dates the customer's timeline shows, from `gridflow.predictions` (issue 13's
predictor: p50 "likely by" and p90 "at the latest" from the history of each link on the
working calendar). This is the one place the portal reads predictions from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from gridflow import predictions
from gridflow.runtime import Runtime


@dataclass(frozen=True)
class Dates:
    likely_by: datetime
    at_the_latest: datetime
    promised: datetime | None


@dataclass(frozen=True)
class Forecast:
    demand: Dates | None
    links: dict[int, Dates] = field(default_factory=dict)  # by work item id


def _dates(estimate: predictions.Estimate | None) -> Dates | None:
    if estimate is None:
        return None
    return Dates(estimate.likely_by, estimate.at_the_latest, estimate.promised)


def forecast(rt: Runtime, demand_id: int) -> Forecast:
    """The demand's predicted end and each open link's."""
    predicted = predictions.predict_demand(rt, demand_id)
    links = {}
    for link in predicted.links:
        dates = _dates(link.estimate)
        if dates is not None:
            links[link.work_item_id] = dates
    return Forecast(_dates(predicted.estimate), links)
