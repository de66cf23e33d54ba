"""The thin FastAPI layer: parse, call a service, render."""
