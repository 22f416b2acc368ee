"""Models of the followup app (built by its own issue)."""
