"""The demo county's places, organisations and people: regions (城区 and eight townships), the trading
centre, departments and other owners, agencies, ten bidder companies, expert employers and the
supervisors — created through the accounts services so every one of them is in the audit trail.

Credit codes are built to pass the GB 32100 check (and the GB 11714 check of the organisation code
inside them) on a division code, 519900, that no real county uses. Every demo user shares one
documented password; operators, supervisors, the administrator and the experts get fixed, printed TOTP
secrets.
All of this is for demonstration only and must never reach a production database."""

from __future__ import annotations

from dataclasses import dataclass

from trading.accounts.models import Organisation, User
from trading.accounts.rules import TWO_FACTOR_REQUIRED, OrgKind, Role, credit_code_check_char
from trading.core.context import ServiceContext
from trading.reference import services as reference
from trading.reference.models import Region

#: the one password of every demo user (README: demo log-ins)
DEMO_PASSWORD = "Demo2026pass"
#: administrative division code of the fictional county (51 = Sichuan; 99 is not a real prefecture)
DIVISION = "519900"

# (code, name, English name)
REGIONS = [
    ("519900001", "城区", "County seat"),
    ("519900101", "青山镇", "Qingshan Town"),
    ("519900102", "石桥镇", "Shiqiao Town"),
    ("519900103", "白马镇", "Baima Town"),
    ("519900104", "龙泉镇", "Longquan Town"),
    ("519900105", "河口镇", "Hekou Town"),
    ("519900106", "柏林镇", "Bolin Town"),
    ("519900107", "桃源乡", "Taoyuan Township"),
    ("519900108", "新店乡", "Xindian Township"),
]


@dataclass(frozen=True)
class OrgSpec:
    key: str
    name: str
    kind: OrgKind
    #: 登记管理部门码 + 机构类别码: 11 机关, 12 事业单位, 91 企业
    register: str
    region: str
    contact: str
    phone: str
    address: str


_CENTRE, _OWNER, _AGENCY, _BIDDER = OrgKind.CENTRE, OrgKind.OWNER, OrgKind.AGENCY, OrgKind.BIDDER
_SUP, _EXP = OrgKind.SUPERVISOR, OrgKind.EXPERT_EMPLOYER

ORGS = [
    OrgSpec("centre", "示范县公共资源交易中心", _CENTRE, "12", "城区", "张敏", "0838-6210001", "示范县城区政务服务中心三楼"),
    # departments and other owners (业主/采购人/出让人/转让方)
    OrgSpec("edu", "示范县教育局", _OWNER, "11", "城区", "陈静", "0838-6210101", "示范县城区文庙街12号"),
    OrgSpec("transport", "示范县交通运输局", _OWNER, "11", "城区", "刘洋", "0838-6210102", "示范县城区车站路8号"),
    OrgSpec("water", "示范县水务局", _OWNER, "11", "城区", "赵刚", "0838-6210103", "示范县城区滨河路21号"),
    OrgSpec("health", "示范县卫生健康局", _OWNER, "11", "城区", "孙丽", "0838-6210104", "示范县城区人民路45号"),
    OrgSpec("landres", "示范县自然资源局", _OWNER, "11", "城区", "周涛", "0838-6210105", "示范县城区建设路3号"),
    OrgSpec("assets", "示范县国有资产事务服务中心", _OWNER, "12", "城区", "吴芳", "0838-6210106", "示范县城区府前街1号"),
    OrgSpec("qingshan", "示范县青山镇人民政府", _OWNER, "11", "青山镇", "郑伟", "0838-6310001", "示范县青山镇正街18号"),
    OrgSpec("chengtou", "示范县城市建设投资有限公司", _OWNER, "91", "城区", "黄磊", "0838-6210201", "示范县城区新区大道99号"),
    # agencies (代理机构)
    OrgSpec("agency1", "四川天府工程项目管理有限公司", _AGENCY, "91", "城区", "冯雪", "028-86660001", "示范县城区人民路88号"),
    OrgSpec("agency2", "示范县鼎信招标代理有限公司", _AGENCY, "91", "城区", "何军", "0838-6220002", "示范县城区东街6号"),
    # bidders (投标人/供应商/竞买人)
    OrgSpec("b01", "示范县宏达建筑工程有限公司", _BIDDER, "91", "城区", "马超", "13800000001", "示范县城区工业园A区"),
    OrgSpec("b02", "四川蜀通路桥建设有限公司", _BIDDER, "91", "城区", "罗斌", "13800000002", "示范县城区西环路17号"),
    OrgSpec("b03", "示范县清源水利水电工程有限公司", _BIDDER, "91", "河口镇", "谢涛", "13800000003", "示范县河口镇滨江路2号"),
    OrgSpec("b04", "四川育才教学设备有限公司", _BIDDER, "91", "城区", "唐敏", "13800000004", "示范县城区科教路5号"),
    OrgSpec("b05", "示范县康宁医疗器械有限公司", _BIDDER, "91", "城区", "韩梅", "13800000005", "示范县城区健康路9号"),
    OrgSpec("b06", "四川信达信息技术有限公司", _BIDDER, "91", "城区", "曹阳", "13800000006", "示范县城区电子街11号"),
    OrgSpec("b07", "示范县绿洲物业服务有限公司", _BIDDER, "91", "城区", "邓红", "13800000007", "示范县城区花园路20号"),
    OrgSpec("b08", "示范县恒安保安服务有限公司", _BIDDER, "91", "白马镇", "许亮", "13800000008", "示范县白马镇新街3号"),
    OrgSpec("b09", "四川金石矿业开发有限公司", _BIDDER, "91", "石桥镇", "彭飞", "13800000009", "示范县石桥镇矿区路1号"),
    OrgSpec("b10", "示范县丰泽农业开发有限公司", _BIDDER, "91", "桃源乡", "蒋丽", "13800000010", "示范县桃源乡农业园"),
    # expert employers (专家所在单位)
    OrgSpec("hospital", "示范县人民医院", _EXP, "12", "城区", "董华", "0838-6230001", "示范县城区人民路100号"),
    OrgSpec("design", "四川示范建筑设计研究院有限公司", _EXP, "91", "城区", "袁明", "0838-6230002", "示范县城区设计路7号"),
    OrgSpec("school", "示范县职业技术学校", _EXP, "12", "龙泉镇", "潘静", "0838-6230003", "示范县龙泉镇学府路1号"),
    # supervisors (行政监督部门, 纪检监察)
    OrgSpec("fgj", "示范县发展和改革局", _SUP, "11", "城区", "蔡军", "0838-6240001", "示范县城区府前街3号"),
    OrgSpec("czj", "示范县财政局", _SUP, "11", "城区", "田园", "0838-6240002", "示范县城区府前街5号"),
    OrgSpec("jw", "中共示范县纪律检查委员会 示范县监察委员会", _SUP, "11", "城区", "石磊", "0838-6240003",
            "示范县城区府前街7号"),
]


@dataclass(frozen=True)
class UserSpec:
    username: str
    display_name: str
    org: str
    role: Role


USERS = [
    UserSpec("admin", "王磊（系统管理员）", "centre", Role.ADMIN),
    UserSpec("operator1", "张敏", "centre", Role.OPERATOR),
    UserSpec("operator2", "李强", "centre", Role.OPERATOR),
    UserSpec("edu", "陈静", "edu", Role.OWNER),
    UserSpec("transport", "刘洋", "transport", Role.OWNER),
    UserSpec("water", "赵刚", "water", Role.OWNER),
    UserSpec("health", "孙丽", "health", Role.OWNER),
    UserSpec("landres", "周涛", "landres", Role.OWNER),
    UserSpec("assets", "吴芳", "assets", Role.OWNER),
    UserSpec("qingshan", "郑伟", "qingshan", Role.OWNER),
    UserSpec("chengtou", "黄磊", "chengtou", Role.OWNER),
    UserSpec("agency1", "冯雪", "agency1", Role.AGENCY),
    UserSpec("agency2", "何军", "agency2", Role.AGENCY),
    *[UserSpec(f"bidder{i:02d}", name, f"b{i:02d}", Role.BIDDER) for i, name in enumerate(
        ["马超", "罗斌", "谢涛", "唐敏", "韩梅", "曹阳", "邓红", "许亮", "彭飞", "蒋丽"], start=1)],
    UserSpec("expert01", "董华", "hospital", Role.EXPERT),
    UserSpec("expert02", "林芳", "hospital", Role.EXPERT),
    UserSpec("expert03", "袁明", "design", Role.EXPERT),
    UserSpec("expert04", "钟伟", "design", Role.EXPERT),
    UserSpec("expert05", "潘静", "school", Role.EXPERT),
    UserSpec("expert06", "汪洋", "school", Role.EXPERT),
    UserSpec("expert07", "高远", "design", Role.EXPERT),
    UserSpec("expert08", "屈平", "school", Role.EXPERT),
    UserSpec("sup_fgj", "蔡军（发改局）", "fgj", Role.SUPERVISOR),
    UserSpec("sup_czj", "田园（财政局）", "czj", Role.SUPERVISOR),
    UserSpec("sup_jw", "石磊（纪委监委）", "jw", Role.SUPERVISOR),
]


#: the roles whose demo users get a fixed, printed TOTP secret: those that must have two-factor, and
#: the experts, who sign the evaluation report with a fresh two-factor code
DEMO_TWO_FACTOR = TWO_FACTOR_REQUIRED | {Role.EXPERT}

#: opening-key custodians (开标密钥保管人) of the demo: two operators and the three supervising
#: departments (5 custodians, 4 institutions), each with a documented passphrase (DEMO ONLY)
DEMO_CUSTODIANS = ("operator1", "operator2", "sup_fgj", "sup_czj", "sup_jw")


def demo_custodian_passphrase(username: str) -> str:
    """The documented custodian passphrase of a demo custodian (README), e.g. custody-operator1-2026."""
    return f"custody-{username}-2026"


def demo_totp_secret(username: str) -> str:
    """A fixed, documented base32 secret (DEMO ONLY): 'DEMOONLY' + the username spelled in base32
    letters (digits as words), padded with A."""
    words = dict(zip("0123456789", ("ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"), strict=True))
    letters = "".join(words.get(c, c) for c in username.upper() if c.isalnum())
    return ("DEMOONLY" + letters).ljust(32, "A")[:32]


# --- 统一社会信用代码 --------------------------------------------------------------------------------
_ORG_CODE_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organisation_code(body8: str) -> str:
    """GB 11714 organisation code: eight characters and their check character (0–9 or X)."""
    total = sum(_ORG_CODE_CHARS.index(c) * w for c, w in zip(body8, _ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body8 + {10: "X", 11: "0"}.get(check, str(check))


def demo_credit_code(register: str, seq: int, division: str = DIVISION) -> str:
    """A deterministic code that passes GB 32100: enterprises get an 'MA…' organisation code (as issued
    since 2015), government bodies and public institutions a numeric one."""
    body8 = f"MA6{seq:05d}" if register.startswith("9") else f"7{seq:07d}"
    first17 = register + division + organisation_code(body8)
    return first17 + credit_code_check_char(first17)


# --- building -----------------------------------------------------------------------------------
@dataclass
class People:
    regions: dict[str, Region]
    orgs: dict[str, Organisation]
    users: dict[str, User]
    #: username → TOTP secret, for the users of the DEMO_TWO_FACTOR roles (DEMO ONLY)
    totp: dict[str, str]


def add_regions(ctx: ServiceContext) -> dict[str, Region]:
    return {name: reference.create_region(ctx, code=code, name=name, name_en=name_en, sort=sort)
            for sort, (code, name, name_en) in enumerate(REGIONS)}


def add_people(ctx: ServiceContext) -> People:
    from trading.accounts import services as accounts

    regions = add_regions(ctx)
    orgs = {}
    for seq, spec in enumerate(ORGS, start=1):
        orgs[spec.key] = accounts.create_organisation(
            ctx, name=spec.name, credit_code=demo_credit_code(spec.register, seq), kind=spec.kind.value,
            region_id=regions[spec.region].id, contact_name=spec.contact, contact_phone=spec.phone,
            address=spec.address)
    users, totp = {}, {}
    for n, spec in enumerate(USERS, start=1):
        user = accounts.create_user(ctx, username=spec.username, display_name=spec.display_name,
                                    org_id=orgs[spec.org].id, role=spec.role.value, password=DEMO_PASSWORD,
                                    phone=f"139{n:08d}")
        users[spec.username] = user
        if spec.role in DEMO_TWO_FACTOR:
            totp[spec.username] = enrol_demo_totp(ctx, user)
    enrol_demo_custodians(ctx, users)
    return People(regions=regions, orgs=orgs, users=users, totp=totp)


def enrol_demo_totp(ctx: ServiceContext, user: User) -> str:
    """Enrol the user's authenticator through the real two-factor use cases, with the fixed demo
    secret instead of a random one, so the README can list it."""
    import pyotp

    from trading.accounts import services as accounts

    user_ctx = accounts.as_user(ctx, user)
    secret = demo_totp_secret(user.username)
    accounts.start_totp_enrolment(user_ctx, user)
    user.totp_secret = secret  # the only departure from a real enrolment: a known secret
    accounts.confirm_totp(user_ctx, user, pyotp.TOTP(secret).at(ctx.now()))
    return secret


def enrol_demo_custodians(ctx: ServiceContext, users: dict[str, User]) -> None:
    """Enrol the demo custodians through the real service (sealed announcements need them)."""
    from trading.accounts import custodians
    from trading.accounts import services as accounts

    for username in DEMO_CUSTODIANS:
        custodians.enrol_custodian(accounts.as_user(ctx, users[username]), demo_custodian_passphrase(username))
