"""The free-text masker: phone and ID numbers typed into descriptions, notes and search queries."""

import pytest

from core.masking import mask_numbers


@pytest.mark.parametrize("text, masked", [
    ("回电13912345678", "回电139****5678"),
    ("回电139 1234 5678。", "回电139****5678。"),
    ("回电139-1234-5678", "回电139****5678"),
    ("回电１３９１２３４５６７８", "回电139****5678"),
    ("回电１３９－１２３４－５６７８", "回电139****5678"),
    ("+86 13912345678", "+86 139****5678"),
    ("座机0455-8331481", "座机0455-***1481"),
    ("座机(0451)86661234", "座机0451-****1234"),
    ("身份证23010219800101123X", "身份证2301**********123X"),
    ("身份证23010219800101123x", "身份证2301**********123X"),
    ("身份证２３０１０２１９８００１０１１２３Ｘ", "身份证2301**********123X"),
    ("身份证230102 19800101 1234", "身份证2301**********1234"),
    ("老身份证230102800101123号", "老身份证2301*******1123号"),
    ("电话13912345678和13812345678", "电话139****5678和138****5678"),
])
def test_numbers_in_free_text_are_masked(text, masked):
    assert mask_numbers(text) == masked


@pytest.mark.parametrize("text", [
    "2026-12-06 13:45 来电,低保金1380元,工单GD202612060001",
    "12345热线", "编号12345678901234567890", "第3次督办", "",
])
def test_text_without_phone_or_id_numbers_is_left_as_it_was(text):
    assert mask_numbers(text) == text


def test_masking_a_long_text_is_quick():
    import time

    text = ("1" * 5000 + "低保") * 20
    started = time.perf_counter()
    assert mask_numbers(text) == text
    assert time.perf_counter() - started < 0.5


def test_clip_never_ends_inside_a_number_so_the_snippet_stays_maskable():
    from core.masking import clip

    request = "请核实该群众身份证号230102198001011236的参保情况"
    for limit in range(10, len(request)):
        snippet = mask_numbers(clip(request, limit))
        assert "198001" not in snippet and len(snippet) <= limit
    assert clip("低保金没到账", 3) == "低保金" and clip("低保", 10) == "低保"
