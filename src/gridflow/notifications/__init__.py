"""Telling customers without being asked: messages go into an outbox table in the transaction
of the verb they tell about (`outbox`), and delivery rounds send them later, claimed with row
locks and retried with a growing pause (`delivery`), through real senders: SMTP e-mail and an
SMS gateway over HTTP (`senders`). What is told, to whom, is in `triggers`."""

from gridflow.notifications.outbox import Message, Recipient, enqueue

__all__ = ["Message", "Recipient", "enqueue"]
