"""FoodVision server: services with no web imports, and a thin FastAPI layer in ``web``."""
