"""FoodVision ML core: datasets, models, training engine, events and prediction.

This package imports no web framework, so the trainer process and the CLI stay light.
"""

__version__ = "0.1.0"
