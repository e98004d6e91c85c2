"""Helpers shared by the tests (import as `tests.support.<module>`)."""
