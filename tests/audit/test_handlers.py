from audit import services as audit
from core import clock


def _events(n, entity_type="pagetest"):
    for i in range(n):
        audit.record("update", entity_type, i, actor=None, now=clock.now())


def test_audit_log_reads_past_its_first_page_keeping_the_filter(client, login, db):
    login("admin")
    _events(150)
    db.commit()
    response = client.get("/audit/?entity_type=pagetest&page=2")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "第 2 / 2 页" in html and "pagetest 0</td>" in html and "pagetest 149</td>" not in html
    assert "/audit/?page=1&amp;entity_type=pagetest" in html
    assert 'href="/audit/export.csv?entity_type=pagetest"' in html


def test_csv_export_writes_formula_like_values_as_text(client, login, db):
    import csv
    import io

    from tests.builders import FORMULA_VALUES

    typed = FORMULA_VALUES[0]
    client.post("/accounts/login", data={"username": typed, "password": "x"})  # an anonymous caller's text
    for value in FORMULA_VALUES[1:]:
        audit.record("login_failed", "user", value, actor=None, now=clock.now(), changes={"username": value})
    db.commit()
    login("supervisor")
    response = client.get("/audit/export.csv?action=login_failed")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    ids = {row[6] for row in rows[1:]}
    assert {"'" + typed.lower(), *("'" + v for v in FORMULA_VALUES[1:])} <= ids
    assert all(cell[:1] not in "=+-@\t\r" for row in rows for cell in row if cell)
    assert all(row[0].isdigit() for row in rows[1:])
