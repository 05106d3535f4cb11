import csv
import io

from openpyxl import load_workbook

from core import csvfile, xlsx
from tests.builders import FORMULA_VALUES, assert_written_as_text


def _workbook(rows):
    wb = xlsx.new_workbook()
    xlsx.add_sheet(wb, "表", ["甲", "乙"], rows)
    return xlsx.to_bytes(wb)


def test_workbook_writes_formula_like_strings_as_text():
    assert_written_as_text(_workbook([[value, "说明"] for value in FORMULA_VALUES]))


def test_workbook_keeps_numbers_and_phone_numbers_readable():
    ws = load_workbook(io.BytesIO(_workbook([[-2, "+86 0455 8123456"], [3.5, "低保"]]))).active
    assert (ws["A2"].value, ws["A2"].data_type, ws["A3"].value) == (-2, "n", 3.5)
    assert ws["B2"].value == "+86 0455 8123456" and ws["B2"].data_type == "s"
    assert not ws["B3"].quotePrefix


def test_csv_prefixes_formula_like_strings_with_a_quote_and_keeps_numbers():
    text = csvfile.to_text([["值", "数"], *[[value, -2] for value in FORMULA_VALUES], ["低保", 7]])
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert [row[0] for row in rows[1:-1]] == ["'" + value for value in FORMULA_VALUES]
    assert {row[1] for row in rows[1:]} == {"-2", "7"} and rows[-1][0] == "低保"


def test_full_width_and_space_led_formulas_count_too():
    assert all(xlsx.formula_like(v) for v in ("＝1+1", " =1+1", "\u3000@A1", "\r=1", "\n=1"))
    assert not any(xlsx.formula_like(v) for v in (-2, 3.5, "13812345678", "低保", "", None))
