"""Print the permission matrix (trial/access_matrix.py) as the Markdown table of the README;
a test keeps the README's copy true."""

from django.core.management.base import BaseCommand
from django.utils import translation

from trial.access_matrix import MATRIX
from trial.models import CENTRAL_ROLES, Role


def role_scope(role: str) -> str:
    return "all sites" if role in CENTRAL_ROLES else "own sites"


def matrix_markdown() -> str:
    """The matrix as a Markdown table for the README, in English."""
    with translation.override("en"):
        return _matrix_markdown()


def _matrix_markdown() -> str:
    roles = list(Role)
    header = "| view | " + " | ".join(str(r.label) for r in roles) + " |"
    lines = [header, "|" + " --- |" * (len(roles) + 1)]
    for name, rule in MATRIX.items():
        cells = []
        for role in roles:
            if rule.kind == "public":
                cells.append("public")
            elif role in rule.roles:
                scope = "" if rule.kind in ("account", "admin") else f" ({role_scope(role)})"
                cells.append(("edit" if rule.kind != "account" else "yes") + scope)
            elif role in rule.read_roles:
                scope = "" if rule.kind == "account" else f" ({role_scope(role)})"
                cells.append("read" + scope)
            elif rule.roles_if_setting and role in rule.roles_if_setting[1]:
                cells.append(f"edit if `{rule.roles_if_setting[0]}`")
            else:
                cells.append("—")
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Print the permission matrix as a Markdown table (paste it into README.md)."

    def handle(self, *args, **options):
        self.stdout.write(matrix_markdown())
