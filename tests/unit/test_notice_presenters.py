"""What a key date is called on the portal: by the procedure family (and, without one, by what the
notice's kind implies), in both languages."""

import pytest

from trading.procedures.common.presenters import date_label


@pytest.mark.parametrize("field,family,kind,zh,en", [
    ("deadline_at", "tender", "announcement", "投标截止", "Bid deadline"),
    ("deadline_at", "gp_tender", "change", "投标截止", "Bid deadline"),
    ("deadline_at", "negotiation", "announcement", "响应截止", "Response deadline"),
    ("deadline_at", "inquiry", "announcement", "响应截止", "Response deadline"),
    ("opening_at", "tender", "announcement", "开标", "Opening"),
    ("opening_at", "consultation", "announcement", "响应文件开启", "Response opening"),
    ("deadline_at", "land_listing", "land_grant", "竞买申请截止", "Bidder applications close"),
    ("opening_at", "land_listing", "land_grant", "挂牌开始", "Listing starts"),
    ("closing_at", "land_listing", "land_grant", "挂牌截止", "Listing closes"),
    ("opening_at", "", "land_grant", "出让活动开始", "Sale starts"),       # family from the kind
    ("closing_at", "", "disclosure", "信息披露期满", "Disclosure ends"),
    ("deadline_at", "auction", "announcement", "竞买申请截止", "Bidder applications close"),
    ("publicity_until", "tender", "candidates", "公示期截止", "Publicity ends"),
    ("deadline_at", "", "announcement", "投标（响应）截止", "Bid / response deadline"),  # nothing known: generic
])
def test_date_label(field, family, kind, zh, en):
    assert date_label(field, family, "zh", kind) == zh
    assert date_label(field, family, "en", kind) == en
