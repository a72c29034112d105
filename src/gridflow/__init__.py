"""gridflow: a customer-centred business process engine for power grid customer service."""

__version__ = "0.1.0"
