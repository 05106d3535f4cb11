# Hotline Desk: `make run` serves the app with demo data, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup run test lint bench browser-deps office-deps clean

setup: $(STAMP) browser-deps office-deps

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# Debian's chromium drives the browser tests; installed when missing and we are root.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; \
	  else echo "NOTE: /usr/bin/chromium missing and not root: browser tests will be skipped"; fi; \
	fi

# LibreOffice (headless Writer) renders notices' .docx to PDF in the tests, poppler-utils reads the
# PDF back and fonts-noto-cjk gives it Chinese glyphs; installed when missing and we are root.
office-deps:
	@if [ ! -x /usr/bin/soffice ] || [ ! -x /usr/bin/pdftotext ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing LibreOffice Writer (headless), poppler-utils and CJK fonts for the notice tests"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	      libreoffice-writer-nogui poppler-utils fonts-noto-cjk fontconfig >/dev/null; \
	  else echo "NOTE: LibreOffice, poppler-utils or CJK fonts missing and not root: notice PDF tests will be skipped"; fi; \
	fi

run: setup
	$(BIN)/flask --app app init --demo
	$(BIN)/python -m core.serve

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .pytest_cache
