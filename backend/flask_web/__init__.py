"""The Flask twin of the web layer: the same routes, templates and wire formats as
``backend.web``, over the same services (``foodvision serve --framework flask``)."""

EXTENSION = "foodvision"  # the app.extensions key of the ServiceLoop
