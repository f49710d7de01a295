"""The demo county's projects as data: who registers each one, its facts, how far it gets through the
entry review, and the notices it publishes. Times are day offsets from today (Beijing date) and a
wall-clock time, so the portal always shows notices open now, openings today, closed trades,
running publicity and finished results.

Every offset keeps statutory periods comfortably satisfied (the services check them; nothing here
bypasses a rule), and no date lies more than 35 days ahead, so while today is in November 2026 no
working-day count reaches 2027, a year whose holiday schedule nobody has loaded. Run later, the
services refuse the steps that would need 2027 and the demo reports them."""

from __future__ import annotations

from dataclasses import dataclass, field

# An instant: (day offset from today, hour, minute), Beijing time.
When = tuple[int, int, int]


@dataclass(frozen=True)
class NoticeSpec:
    kind: str
    published: When
    title: str
    dates: dict[str, When] = field(default_factory=dict)
    place: str = ""


@dataclass(frozen=True)
class ProjectSpec:
    key: str
    #: username that registers it (an owner, or an agency acting for `owner`)
    by: str
    name: str
    category: str
    owner_type: str
    funding: str
    fiscal_share_bp: int
    investment_yuan: int
    lots: tuple[tuple[str, int], ...]
    procedure: str
    region: str
    approval: tuple[str, str]
    description: str
    #: the owner organisation key when an agency registers
    owner: str | None = None
    registered: When = (-30, 9, 30)
    submitted: When | None = None
    #: ("return" | "accept" | "refuse", when, comment)
    reviews: tuple[tuple[str, When, str], ...] = ()
    #: a fix after a return: new lots (or None) and a resubmission time
    fix: tuple[tuple[tuple[str, int], ...] | None, When] | None = None
    notices: tuple[NoticeSpec, ...] = ()
    #: 招标出让: the evaluation criteria and the parcel (宗地) the owner records after the grant notice
    #: (land_tender services), set at `extras_at`
    criteria: dict | None = None
    parcel: dict | None = None
    extras_at: When | None = None


ROOM1, ROOM2 = "示范县公共资源交易中心第一开标室", "示范县公共资源交易中心第二开标室"
ONLINE = "示范县公共资源交易平台网上竞价系统"


def _accepted(pub_day: int) -> dict:
    """Registration, submission and acceptance a few days before the first notice."""
    return {"registered": (pub_day - 6, 9, 30), "submitted": (pub_day - 5, 10, 0),
            "reviews": (("accept", (pub_day - 3, 15, 0), "材料齐全，予以受理。"),)}


PROJECTS: tuple[ProjectSpec, ...] = (
    # --- works -------------------------------------------------------------------------------------
    ProjectSpec(
        "school_repair", "edu", "示范县第二中学教学楼维修改造工程", "works", "gov", "fiscal_county", 10000,
        1_720_000, (("施工", 1_650_000),), "negotiation", "城区", ("示发改审批〔2026〕58号", "示范县发展和改革局"),
        "教学楼屋面防水、外墙保温、门窗更换及消防设施改造，建筑面积约6,200平方米。", **_accepted(-9),
        notices=(NoticeSpec("announcement", (-9, 10, 0), "示范县第二中学教学楼维修改造工程竞争性谈判公告",
                            {"deadline_at": (6, 9, 30), "opening_at": (6, 9, 30)}, ROOM1),)),
    ProjectSpec(
        "village_road", "transport", "青山镇至石桥镇通村公路改造工程", "works", "gov", "fiscal_provincial", 10000,
        1_950_000, (("一标段（K0+000—K3+500）", 900_000), ("二标段（K3+500—K6+800）", 1_000_000)), "negotiation",
        "青山镇", ("示交审〔2026〕21号", "示范县交通运输局"),
        "改造四级公路6.8公里，路面宽6.5米，含排水及安全防护设施。", **_accepted(-3),
        notices=(NoticeSpec("announcement", (-3, 10, 0), "青山镇至石桥镇通村公路改造工程竞争性谈判公告",
                            {"deadline_at": (10, 9, 30), "opening_at": (10, 9, 30)}, ROOM2),)),
    ProjectSpec(
        "drainage", "agency2", "城区滨河路排水管网改造工程", "works", "state_enterprise", "state_enterprise", 0,
        1_600_000, (("施工", 1_520_000),), "selection", "城区", ("示发改审批〔2026〕61号", "示范县发展和改革局"),
        "新建DN600—DN1000雨污分流管网约2.3公里及检查井86座。", owner="chengtou", **_accepted(-8),
        notices=(NoticeSpec("announcement", (-8, 10, 0), "城区滨河路排水管网改造工程比选公告",
                            {"deadline_at": (0, 9, 30), "opening_at": (0, 9, 30)}, ROOM1),)),
    ProjectSpec(
        "water_supply", "water", "龙泉镇农村饮水安全巩固提升工程", "works", "gov", "fiscal_county", 10000,
        980_000, (("施工", 960_000),), "selection", "龙泉镇", ("示水审〔2026〕9号", "示范县水务局"),
        "新建蓄水池2座，改造供水管网14公里，覆盖3个行政村约4,100人。", **_accepted(-24),
        # opened 14 days ago (offers.py), in evaluation since yesterday (evaluation.py): its candidate
        # publicity comes from the real flow once the committee (you) has scored and signed
        notices=(NoticeSpec("announcement", (-24, 10, 0), "龙泉镇农村饮水安全巩固提升工程比选公告",
                            {"deadline_at": (-14, 9, 30), "opening_at": (-14, 9, 30)}, ROOM2),)),
    ProjectSpec(
        "clinic", "health", "白马镇卫生院改扩建工程", "works", "gov", "fiscal_county", 10000,
        1_130_000, (("施工", 1_080_000),), "selection", "白马镇", ("示发改审批〔2026〕40号", "示范县发展和改革局"),
        "门诊楼改扩建约1,800平方米，含院内道路及配套管网。", **_accepted(-34),
        notices=(
            NoticeSpec("announcement", (-34, 10, 0), "白马镇卫生院改扩建工程比选公告",
                       {"deadline_at": (-26, 9, 30), "opening_at": (-26, 9, 30)}, ROOM1),
            NoticeSpec("candidates", (-24, 10, 0), "白马镇卫生院改扩建工程中选候选人公示",
                       {"publicity_until": (-19, 17, 0)}),
            NoticeSpec("result", (-17, 10, 0), "白马镇卫生院改扩建工程中选结果公告"),
        )),
    # --- goods -------------------------------------------------------------------------------------
    ProjectSpec(
        "smart_class", "agency1", "示范县中小学智慧教室设备采购", "goods", "gov", "fiscal_county", 10000,
        1_280_000, (("包1：交互式智能平板", 860_000), ("包2：常态化录播系统", 420_000)), "consultation", "城区",
        ("示财采计〔2026〕112号", "示范县财政局"), "为全县12所中小学配置86间智慧教室设备。", owner="edu", **_accepted(-4),
        notices=(NoticeSpec("announcement", (-4, 10, 0), "示范县中小学智慧教室设备采购竞争性磋商公告",
                            {"deadline_at": (8, 9, 30), "opening_at": (8, 9, 30)}, ROOM2),)),
    ProjectSpec(
        "hospital_kit", "agency1", "示范县人民医院医疗设备采购（第二批）", "goods", "gov", "fiscal_city", 10000,
        1_900_000, (("包1：彩色多普勒超声诊断仪", 1_150_000), ("包2：多参数监护仪", 700_000)), "negotiation", "城区",
        ("示财采计〔2026〕118号", "示范县财政局"), "县人民医院年度医疗设备更新，第二批。", owner="health",
        registered=(-10, 9, 0), submitted=(-9, 10, 0),
        reviews=(("return", (-8, 9, 30), "请补充医疗设备配置论证意见，并将包2预算与财政批复（68万元）核对一致。"),
                 ("accept", (-6, 15, 0), "已按要求补正，予以受理。")),
        fix=((("包1：彩色多普勒超声诊断仪", 1_150_000), ("包2：多参数监护仪", 680_000)), (-7, 16, 0)),
        notices=(NoticeSpec("announcement", (-1, 10, 0), "示范县人民医院医疗设备采购（第二批）竞争性谈判公告",
                            {"deadline_at": (7, 9, 30), "opening_at": (7, 9, 30)}, ROOM1),)),
    ProjectSpec(
        "furniture", "qingshan", "青山镇便民服务中心办公家具采购", "goods", "gov", "fiscal_county", 10000,
        360_000, (("办公家具", 360_000),), "inquiry", "青山镇", ("示财采计〔2026〕97号", "示范县财政局"),
        "办公桌椅、文件柜、档案密集架等。", **_accepted(-16),
        notices=(NoticeSpec("announcement", (-16, 10, 0), "青山镇便民服务中心办公家具采购询价公告",
                            {"deadline_at": (-9, 9, 30), "opening_at": (-9, 9, 30)}, ROOM2),)),
    # --- services ----------------------------------------------------------------------------------
    ProjectSpec(
        "road_upkeep", "transport", "示范县农村公路养护服务采购", "services", "gov", "fiscal_county", 10000,
        1_200_000, (("养护服务", 1_200_000),), "negotiation", "城区", ("示财采计〔2026〕105号", "示范县财政局"),
        "全县农村公路日常养护，服务期一年。", **_accepted(-10),
        notices=(NoticeSpec("announcement", (-10, 10, 0), "示范县农村公路养护服务采购竞争性谈判公告",
                            {"deadline_at": (0, 14, 30), "opening_at": (0, 14, 30)}, ROOM2),)),
    ProjectSpec(
        "campus_guard", "edu", "示范县校园安保服务采购", "services", "gov", "fiscal_county", 10000,
        680_000, (("安保服务", 680_000),), "negotiation", "城区", ("示财采计〔2026〕88号", "示范县财政局"),
        "全县9所学校校园安保服务，服务期一年。", **_accepted(-30),
        notices=(
            NoticeSpec("announcement", (-30, 10, 0), "示范县校园安保服务采购竞争性谈判公告",
                       {"deadline_at": (-20, 9, 30), "opening_at": (-20, 9, 30)}, ROOM1),
            NoticeSpec("result", (-2, 10, 0), "示范县校园安保服务采购成交结果公告", {"publicity_until": (1, 17, 0)}),
        )),
    ProjectSpec(
        "health_it", "health", "示范县全民健康信息平台运维服务", "services", "gov", "fiscal_county", 10000,
        450_000, (("运维服务", 450_000),), "negotiation", "城区", ("示财采计〔2026〕121号", "示范县财政局"),
        "全民健康信息平台及基层医疗机构信息系统运维，服务期一年。",
        registered=(-5, 9, 0), submitted=(-4, 10, 0), reviews=(("accept", (-2, 15, 0), "予以受理。"),)),
    # --- land, mining ------------------------------------------------------------------------------
    ProjectSpec(
        "land_listing", "landres", "城区2026-15号地块国有建设用地使用权挂牌出让", "land", "gov", "self_raised", 0,
        18_600_000, (("宗地CQ2026-15（商住用地，12,860平方米）", 18_600_000),), "land_listing", "城区",
        ("示府土〔2026〕15号", "示范县人民政府"), "出让年限：住宅70年、商业40年；容积率≤2.5。起始价1,860万元。",
        **_accepted(-25),
        notices=(NoticeSpec("land_grant", (-25, 10, 0), "示范县城区2026-15号地块国有建设用地使用权挂牌出让公告",
                            {"opening_at": (-3, 9, 0), "deadline_at": (9, 16, 0), "closing_at": (12, 10, 0)},
                            ONLINE),)),
    ProjectSpec(
        "land_auction", "landres", "龙泉镇2026-03号地块国有建设用地使用权拍卖出让", "land", "gov", "self_raised", 0,
        6_350_000, (("宗地LQ2026-03（工业用地，21,400平方米）", 6_350_000),), "land_auction", "龙泉镇",
        ("示府土〔2026〕9号", "示范县人民政府"), "工业用地，出让年限50年。起始价635万元。", **_accepted(-30),
        notices=(
            NoticeSpec("land_grant", (-30, 10, 0), "示范县龙泉镇2026-03号地块国有建设用地使用权拍卖出让公告",
                       {"deadline_at": (-3, 16, 0), "opening_at": (-1, 10, 0)}, ONLINE),
            NoticeSpec("deal_publicity", (-1, 15, 0), "示范县龙泉镇2026-03号地块国有建设用地使用权出让成交公示",
                       {"publicity_until": (9, 17, 0)}),
        )),
    # 招标出让: the grant notice is out, bids close in twelve days; the criteria (highest price, not
    # below the starting price) and the parcel are recorded, so its parcel page and OCDS record show them
    ProjectSpec(
        "land_tender", "landres", "城区2026-21号地块国有建设用地使用权招标出让", "land", "gov", "self_raised", 0,
        24_500_000, (("宗地CQ2026-21（城镇住宅用地，15,320平方米）", 24_500_000),), "land_tender", "城区",
        ("示府土〔2026〕21号", "示范县人民政府"), "城镇住宅用地，出让年限70年，容积率1.0—2.2。起始价2,450万元，价高者得。",
        **_accepted(-10),
        notices=(NoticeSpec("land_grant", (-10, 10, 0), "示范县城区2026-21号地块国有建设用地使用权招标出让公告",
                            {"deadline_at": (12, 9, 30), "opening_at": (12, 9, 30)}, ROOM1),),
        criteria={"method": "highest_price", "min_price_fen": 24_500_000 * 100,
                  "rejections": [{"code": "R1", "name": "投标人资格不符合出让公告要求"},
                                 {"code": "R2", "name": "投标报价低于起始价"}]},
        parcel={"subject_ref": "CQ2026-21", "location": "城区滨江路北侧、学府路东侧", "area_m2": "15320.00",
                "land_use": "城镇住宅用地", "term_years": "70", "plot_ratio": "1.0—2.2"},
        extras_at=(-10, 11, 0)),
    ProjectSpec(
        "sand_mine", "landres", "石桥镇建筑用砂岩矿采矿权挂牌出让", "mining", "gov", "self_raised", 0,
        8_800_000, (("石桥镇建筑用砂岩矿采矿权", 8_800_000),), "mining_listing", "石桥镇",
        ("示自然资矿〔2026〕3号", "示范县自然资源局"), "矿区面积0.21平方公里，出让年限10年。", **_accepted(-20),
        # a mining-right notice runs ≥ 20 working days before the listing, the listing ≥ 10 working days
        notices=(NoticeSpec("land_grant", (-20, 10, 0), "示范县石桥镇建筑用砂岩矿采矿权挂牌出让公告",
                            {"opening_at": (12, 9, 0), "deadline_at": (26, 16, 0), "closing_at": (30, 10, 0)},
                            ONLINE),)),
    # --- state assets, other -----------------------------------------------------------------------
    ProjectSpec(
        "shop_sale", "assets", "人民路45号临街商铺转让", "state_asset", "gov", "self_raised", 0,
        2_360_000, (("人民路45号1—3号商铺（建筑面积386平方米）", 2_360_000),), "asset_transfer", "城区",
        ("示国资〔2026〕12号", "示范县国有资产事务服务中心"), "转让底价236万元，评估报告编号示评〔2026〕031号。",
        **_accepted(-10),
        notices=(NoticeSpec("disclosure", (-10, 10, 0), "人民路45号临街商铺转让信息披露公告",
                            {"deadline_at": (22, 16, 0), "closing_at": (22, 17, 0)}),)),
    ProjectSpec(
        "cars", "assets", "示范县公务用车网络竞价处置（第三批）", "state_asset", "gov", "self_raised", 0,
        184_000, (("川X·A1234 大众帕萨特", 36_000), ("川X·A2345 别克GL8", 52_000), ("川X·A3456 丰田凯美瑞", 41_000),
                  ("川X·A4567 长安CS75", 28_000), ("川X·A5678 五菱荣光", 27_000)), "online_bidding", "城区",
        ("示国资〔2026〕15号", "示范县国有资产事务服务中心"), "公车改革后取消车辆5辆，按现状网络竞价处置。",
        **_accepted(-2),
        notices=(NoticeSpec("announcement", (-2, 10, 0), "示范县公务用车网络竞价处置（第三批）公告",
                            {"deadline_at": (7, 16, 0), "opening_at": (8, 9, 0)}, ONLINE),)),
    ProjectSpec(
        "forest", "qingshan", "青山镇集体林地经营权流转", "other", "gov", "self_raised", 0,
        420_000, (("青山村集体林地经营权（1,260亩，15年）", 420_000),), "online_bidding", "青山镇",
        ("青府〔2026〕33号", "示范县青山镇人民政府"), "经村民代表会议通过，公开流转集体林地经营权。", **_accepted(-5),
        notices=(NoticeSpec("announcement", (-5, 10, 0), "青山镇集体林地经营权流转竞价公告",
                            {"deadline_at": (6, 16, 0), "opening_at": (7, 9, 0)}, ONLINE),)),
    # --- drafts, waiting, returned, refused --------------------------------------------------------
    ProjectSpec(
        "service_centre", "qingshan", "青山镇便民服务中心改造工程", "works", "gov", "fiscal_county", 10000,
        470_000, (("施工", 450_000),), "selection", "青山镇", ("示发改审批〔2026〕66号", "示范县发展和改革局"),
        "便民服务中心一楼大厅改造及无障碍设施。", registered=(-2, 15, 0)),
    ProjectSpec(
        "cold_chain", "health", "示范县疾控中心冷链设备采购", "goods", "gov", "fiscal_county", 10000,
        260_000, (("冷链设备", 260_000),), "inquiry", "城区", ("示财采计〔2026〕124号", "示范县财政局"),
        "疫苗冷库温控系统及冷藏运输箱。", registered=(-1, 11, 0)),
    ProjectSpec(
        "river_supervision", "water", "示范县河道综合治理工程监理服务", "services", "gov", "fiscal_county", 10000,
        380_000, (("监理服务", 380_000),), "negotiation", "河口镇", ("示水审〔2026〕12号", "示范县水务局"),
        "河口镇段河道综合治理工程施工监理。", registered=(-3, 9, 0), submitted=(-2, 10, 0)),
    ProjectSpec(
        "playground", "edu", "示范县第一小学运动场改造工程", "works", "gov", "fiscal_county", 10000,
        1_150_000, (("施工", 1_100_000),), "selection", "城区", ("示发改审批〔2026〕70号", "示范县发展和改革局"),
        "塑胶跑道、人造草坪足球场及看台改造。", registered=(-2, 9, 0), submitted=(-1, 10, 0)),
    ProjectSpec(
        "library", "edu", "示范县图书馆数字资源采购", "goods", "gov", "fiscal_county", 10000,
        520_000, (("数字资源", 520_000),), "negotiation", "城区", ("示财采计〔2026〕119号", "示范县财政局"),
        "电子图书、期刊数据库及地方文献数字化。", registered=(-5, 9, 0), submitted=(-4, 10, 0),
        reviews=(("return", (-2, 11, 0), "采购计划备案号与财政批复不一致，请核对并补充县财政局预算批复文件。"),)),
    ProjectSpec(
        "seized_shops", "assets", "建设路老旧小区配套商铺转让", "state_asset", "gov", "self_raised", 0,
        1_480_000, (("建设路12号配套商铺", 1_480_000),), "asset_transfer", "城区",
        ("示国资〔2026〕10号", "示范县国有资产事务服务中心"), "配套商铺6间，建筑面积412平方米。",
        registered=(-12, 9, 0), submitted=(-11, 10, 0),
        reviews=(("refuse", (-9, 16, 0), "该资产已被人民法院查封，处于司法限制状态，依规不予受理。"),)),
)
