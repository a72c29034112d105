"""The customer channel: accounts that sign in with a phone and a one-time code
(`accounts`), applications made online with their documents (`applications`, `documents`),
and the customer's own timeline with predicted dates (`timeline`)."""
