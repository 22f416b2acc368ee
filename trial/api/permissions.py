"""The API asks the same matrix as the pages (trial.access_matrix via trial.access.rule_for):
the route's rule must allow the token user's role for the method, and the token must hold the
rule's scope. Which participants the user then sees is ``participants_for``'s, in the views."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission

from trial.access import rule_for
from trial.api.models import ApiToken


class MatrixPermission(BasePermission):
    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            return False  # DRF answers 401 with WWW-Authenticate: Bearer
        match = request.resolver_match
        rule = rule_for(match.view_name if match else None)
        if rule is None or rule.kind != "api":
            return False  # fail closed, as the middleware does for pages
        scope = rule.extra.get("scope", "")
        if not token.has_scope(scope):
            self.message = _("This token does not have the scope %(scope)s.") % {"scope": scope}
            return False
        self.message = _("Your role may not use this part of the API.")
        return rule.allows(request.user.role, request.method)
