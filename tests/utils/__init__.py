"""Helpers shared by the tests: a local HTTP server, object factories, process checks."""
