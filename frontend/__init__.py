"""Templates, partials and static files of the single page."""
