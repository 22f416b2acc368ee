"""Models of the randomization app (built by its own issue)."""
