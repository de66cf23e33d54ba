"""Datasets: their names, the generated demo, downloads, ImageFolder validation, loaders."""
