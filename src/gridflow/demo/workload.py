"""What the demo simulates: when it starts, the mix of customer demands that arrive, how
often each answer that steers a gateway is given, and the customers' names."""

from __future__ import annotations

from datetime import UTC, datetime

# Monday 7 September 2026, 09:00 Beijing: four weeks from here cross National Day.
DEMO_START = datetime(2026, 9, 7, 1, 0, tzinfo=UTC)

# (share of demands, demand fields) — a city district's mix of customer demands.
DEMAND_MIX: list[tuple[float, dict[str, object]]] = [
    (0.30, {"category": "connection", "customer_category": "residential", "channel": "app"}),
    (0.08, {"category": "connection", "customer_category": "business", "channel": "counter"}),
    (0.10, {"category": "connection", "customer_category": "small_micro", "channel": "online"}),
    (
        0.05,
        {
            "category": "connection",
            "customer_category": "business",
            "voltage": "high",
            "channel": "counter",
        },
    ),
    (0.22, {"category": "repair", "customer_category": "residential", "channel": "call_centre"}),
    (0.10, {"category": "repair", "customer_category": "residential", "channel": "monitoring"}),
    (0.06, {"category": "ev_charger", "customer_category": "residential", "channel": "app"}),
    (0.06, {"category": "pv", "customer_category": "residential", "channel": "online"}),
    (
        0.03,
        {"category": "energy_efficiency", "customer_category": "business", "channel": "counter"},
    ),
]
# How often a form field that steers a gateway takes each value.
CHOICES: dict[str, list[tuple[object, float]]] = {
    "supply_scheme": [("existing_line", 0.8), ("external_works", 0.2)],
    "design_approved": [(True, 0.85), (False, 0.15)],
    "materials_needed": [(False, 0.7), (True, 0.3)],
    "satisfaction": [("satisfied", 0.85), ("neutral", 0.1), ("dissatisfied", 0.05)],
    "accepted": [(True, 0.8), (False, 0.2)],
    "inspection_passed": [(True, 0.85), (False, 0.15)],
    # A department rejects a high-voltage supply scheme now and then: it goes back for revision.
    "countersign_decision": [("approve", 0.9), ("reject", 0.1)],
    "fee_status": [("due", 0.7), ("none_due", 0.3)],
    # Most customers are not important power users; hospitals and the like are few.
    "customer_importance": [
        ("none", 0.88),
        ("second", 0.06),
        ("first", 0.04),
        ("temporary", 0.01),
        ("special", 0.01),
    ],
}
# Fields that confirm what the demand already says: the clerk keeps the demand's value.
CONFIRMED = frozenset({"capacity_kw", "supply"})
SURNAMES = "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Luo Gao"
