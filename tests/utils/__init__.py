"""Helpers shared by the tests and benchmarks: the app server, local HTTP, factories, processes."""
