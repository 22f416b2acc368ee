"""The web API (``/api/v1/``): personal tokens, the same permissions as the pages (the matrix
in trial.access_matrix and ``participants_for``), incremental pulls of the export's records,
and its OpenAPI description. Reads reuse the exporters' row sources and the selectors; writes
reuse the services."""
