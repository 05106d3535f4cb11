"""The bundled knowledge base under kb/data/: loading it is idempotent and applies only changed files."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import yaml

from core.errors import DomainError
from kb import register, services

DATA = Path(__file__).resolve().parent / "data"


def _load_synonyms(*, now: datetime, actor, path: Path) -> int:
    """When the bundled file changed (first run, upgrade), add its terms that the table lacks."""
    if not path.exists():
        return 0
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    state = services.session.get(services.KbRevision, 1)
    if state is not None and state.synonyms_hash == digest:
        return 0
    existing = {s.term for s in services.synonyms()}
    added = 0
    for term, canonical in _synonym_rows(path):
        if term not in existing and term != canonical:
            services.save_synonym(actor=actor, now=now, term=term, canonical_term=canonical, note="内置")
            existing.add(term)
            added += 1
    services.bump_revision(now)
    services.session.get(services.KbRevision, 1).synonyms_hash = digest
    return added


def _synonym_rows(path: Path) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].strip() and parts[1].strip():
            rows.append((parts[0].strip(), parts[1].strip()))
    return rows


def load(*, now: datetime, actor=None, data_dir: Path = DATA) -> dict[str, int]:
    """Define parameters, seed synonyms once, apply entry files whose content changed since the last
    load, and add the policy documents the register lacks.

    An entry edited in the app is left alone unless its bundled file itself changes. Loading the bundle
    is the deploy path, not an editor's change: it writes live, without the second editor's approval
    that kb.review requires of changes made in the app.
    """
    counts = {"parameters": 0, "synonyms": 0, "created": 0, "updated": 0, "unchanged": 0, "documents": 0}
    for item in yaml.safe_load((data_dir / "parameters.yaml").read_text(encoding="utf-8")):
        known = services.session.get(services.Parameter, item["name"]) is not None
        services.define_parameter(actor=actor, now=now, name=item["name"], label=item["label"],
                                  unit=item.get("unit", ""), kind=item.get("kind"))
        counts["parameters"] += not known
    counts["synonyms"] = _load_synonyms(now=now, actor=actor, path=data_dir / "synonyms.tsv")
    for path in sorted((data_dir / "entries").glob("*.yaml")):
        raw = path.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        data = yaml.safe_load(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise DomainError(f"{path.name}: 不是有效的条目文件")
        existing = services.session.get(services.Entry, str(data.get("id", "")).upper())
        if existing is not None and existing.bundle_hash == digest:
            counts["unchanged"] += 1
            continue
        try:
            _, changed = services.save_entry(actor=actor, now=now, data=data, bundle_hash=digest,
                                             note=f"内置知识库文件 kb/data/entries/{path.name}")
        except DomainError as err:
            raise DomainError(f"{path.name}: {err.message}") from err
        if changed:
            counts["created" if existing is None else "updated"] += 1
        else:
            counts["unchanged"] += 1
    # After the entries, so a document seeded as no longer valid flags the entries resting on it.
    counts["documents"] = register.load_seed(now=now, actor=actor, path=data_dir / "policies.yaml")
    return counts
