# The few commands a developer runs every day.
.PHONY: serve test lint validate schema bench static

serve:        ## start the server on SQLite with demo data
	.venv/bin/elearn serve --demo

test:         ## lint, type-check and run every test
	sh tests/run.sh

lint:         ## format and lint
	.venv/bin/ruff format . && .venv/bin/ruff check --fix . && .venv/bin/mypy

validate:     ## check the shipped course content
	.venv/bin/elearn courses validate

schema:       ## republish the JSON Schemas used for editor autocompletion
	.venv/bin/elearn courses schema --kind course > docs/course-schema.json
	.venv/bin/elearn courses schema --kind module > docs/module-schema.json

bench:        ## run the benchmarks (needs wrk: apt-get install -y wrk)
	.venv/bin/pip install -q -e '.[dev,bench]'
	.venv/bin/python bench/validate_modules.py
	.venv/bin/python bench/http_pages.py
	.venv/bin/python bench/learners.py
	.venv/bin/python bench/quiz_submissions.py
	.venv/bin/python bench/certificates.py
	.venv/bin/python bench/verify_pages.py
	.venv/bin/python bench/manager_views.py

static:       ## rebuild static/ from the pinned npm packages
	cd static/build && npm ci && npm run build
