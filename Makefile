# The two commands of the quick start, and a few helpers. See README.md.
.PHONY: run test lint format messages vendor worker beat clean

run:   ## install, migrate, load the demo trial and serve it on http://127.0.0.1:8000
	@bash scripts/run.sh

test:  ## ruff, migrations check, SQLite fast suite, full suite on PostgreSQL, browser tests
	@bash scripts/test.sh

lint:
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports
	@.venv/bin/mypy trial randomization questionnaires followup

format:
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .

messages:  ## extract translatable strings into locale/*/LC_MESSAGES/django.po
	@.venv/bin/python manage.py makemessages -l da -l en --no-obsolete --ignore '.venv/*' --ignore 'staticfiles/*' --ignore 'tests/*'

vendor:  ## refresh static/vendor from the npm registry (versions in package.json)
	@bash scripts/vendor_assets.sh

worker:
	@.venv/bin/celery -A trial worker -l info

beat:
	@.venv/bin/celery -A trial beat -l info

clean:
	rm -rf .venv db.sqlite3 staticfiles .pytest_cache
