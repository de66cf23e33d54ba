"""Datasets: the generated demo, ImageFolder validation and the data loaders."""
