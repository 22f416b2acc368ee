"""Models of the questionnaires app (built by its own issue)."""
