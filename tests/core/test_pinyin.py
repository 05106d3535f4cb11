from core import pinyin


def test_initials_of_a_unit_name_keep_latin_and_digits():
    assert pinyin.initials("北林区紫来街道") == "blqzljd"
    assert pinyin.initials("第3社区A区") == "d3sqaq"


def test_spelled_is_the_toneless_reading():
    assert pinyin.spelled("北林区") == "beilinqu"
