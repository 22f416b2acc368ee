"""The web API's rows of the permission matrix (trial.access_matrix reads them in).

An API route is opened with a personal token, never a session cookie; the token must hold the
route's scope (``extra["scope"]``). Its roles are the page's own, read from the page's entry,
so the page and the API cannot drift apart. This module imports nothing of the matrix: the
matrix hands in what it needs, so there is no import cycle.
"""

from __future__ import annotations

from trial.models import Role


def api_entries(MATRIX, Rule, _account, ALL_STAFF) -> dict:
    def _api(page: str, scope: str, description: str, *, read_only: bool = False):
        rule = MATRIX[page]
        return Rule(
            kind="api",
            roles=frozenset() if read_only else rule.roles,
            read_roles=(rule.roles | rule.read_roles) if read_only else rule.read_roles,
            roles_if_setting=None if read_only else rule.roles_if_setting,
            description=description,
            extra={"scope": scope},
        )

    return {
        "account:api_tokens": _account("Own API tokens: create (shown once), last use, revoke"),
        "account:api_token_revoke": _account("Revoke one of one's own API tokens"),
        "api_docs": _account("The web API's reference page, rendered from its OpenAPI schema"),
        "api_docs_schema": _account("The web API's OpenAPI schema (JSON) to download"),
        "trial:api_token_list": Rule(
            kind="central",
            roles=frozenset({Role.COORDINATOR}),
            description="Every staff member's API tokens; revoke any of them",
        ),
        "api:schema": Rule(
            kind="api",
            read_roles=ALL_STAFF,
            description="API: the OpenAPI 3 schema",
            extra={"scope": "read"},
        ),
        "api:metadata": Rule(
            kind="api",
            read_roles=ALL_STAFF,
            description="API: codebook (forms, items, codes, units), visit schedule, sites",
            extra={"scope": "read"},
        ),
        "api:participants": _api(
            "trial:participant_list",
            "read",
            "API: participants of the user's sites, pseudonymised",
            read_only=True,
        ),
        "api:records": _api(
            "trial:participant_detail",
            "read",
            "API: records per form of the user's participants (long or per record)",
            read_only=True,
        ),
        "api:export_list": _api("trial:export_list", "export", "API: start an export"),
        "api:export_detail": _api(
            "trial:export_detail", "export", "API: an export's log entry and progress"
        ),
        "api:export_download": _api(
            "trial:export_download", "export", "API: download an export's ZIP (logged)"
        ),
        "api:randomise": _api(
            "randomization:participant_randomise",
            "randomise",
            "API: randomise a ready participant (the next envelope of site and stratum)",
        ),
    }
