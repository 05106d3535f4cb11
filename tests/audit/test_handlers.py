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
