"""PDF casebooks: one participant's whole record as a PDF, and a site's archive of them.

``selectors.casebook_data`` gathers what a casebook shows (the forms of the item catalogue with
their entry and corrections, the queries with their threads, the sections other apps register
in ``trial.registry.registry.casebook_sections``, the audit trail), ``render`` writes it with
WeasyPrint, ``services`` owns the runs (request, render with progress, download) and ``tasks``
runs them in Celery.
"""
