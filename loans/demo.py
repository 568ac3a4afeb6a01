"""Demo borrowers and staff for `make run`: some eligible at different grades, some not, each
for a different reason, so every screen has something to show."""

from dataclasses import dataclass, field
from datetime import date

from stdnum.cn import ric

from loans.scoring import FULL_CAPACITY, LIMITED_CAPACITY

DEMO_PASSWORD = "demo-pass-2026"

# (username, group name or None for the superuser, what the login is for)
STAFF = [
    ("admin", None, "superuser"),
    ("risk", "风控专员 Risk officer", "risk officer"),
    ("ops", "贷款运营 Loan operations", "loan operations"),
    ("service", "客服 Customer service", "customer service"),
    ("collector", "催收员 Collector", "collector"),
    ("collector2", "催收员 Collector", "collector (M2 queue)"),
    ("supervisor", "催收主管 Collection supervisor", "collection supervisor"),
    ("auditor", "合规审计 Auditor", "compliance / auditor"),
]


def make_id_number(region: str, birth: date, sequence: str) -> str:
    body = f"{region}{birth:%Y%m%d}{sequence}"
    return body + ric.calc_check_digit(body + "0")  # it ignores the last character


@dataclass(frozen=True)
class DemoBorrower:
    name: str
    region: str
    birth: date
    sequence: str  # 3 digits; the last one odd for men, even for women
    mobile: str
    income: str
    debts: str = "0"
    activity: int | None = 70
    report: tuple[int, int, int] | None = (0, 0, 1)  # overdue now, worst DPD 24m, inquiries 3m
    consents: tuple[str, ...] = ("data_processing", "credit_query")
    id_expiry: date | None = date(2035, 1, 1)
    civil_capacity: str = FULL_CAPACITY
    employer: str = "深圳市腾达科技有限公司"
    occupation: str = "工程师"
    after: tuple[str, ...] = field(default=())  # "freeze", "review", "override"

    @property
    def id_number(self) -> str:
        return make_id_number(self.region, self.birth, self.sequence)


BORROWERS = [
    DemoBorrower("张伟", "110101", date(1988, 5, 12), "231", "13800138001", "25000", "2000", 92),
    DemoBorrower(
        "李娜",
        "310101",
        date(1992, 11, 3),
        "128",
        "13900139002",
        "12000",
        "3000",
        75,
        (0, 10, 2),
        occupation="会计",
    ),
    DemoBorrower(
        "王芳",
        "440305",
        date(1996, 2, 29),
        "046",
        "15000150003",
        "6500",
        "1500",
        55,
        (0, 0, 4),
        occupation="店员",
    ),
    DemoBorrower(
        "马超",
        "330106",
        date(1985, 8, 20),
        "317",
        "18600186004",
        "18000",
        "4000",
        80,
        after=("freeze",),
    ),
    DemoBorrower(
        "刘洋",
        "510104",
        date(1990, 1, 15),
        "055",
        "18800188005",
        "9000",
        id_expiry=date(2024, 6, 30),
    ),
    DemoBorrower(
        "陈静", "360102", date(1987, 4, 9), "062", "17700177006", "11000", "2000", 60, (2, 45, 3)
    ),
    DemoBorrower("杨磊", "420102", date(1983, 9, 30), "113", "13700137007", "8000", "5200", 65),
    DemoBorrower(
        "赵敏",
        "500103",
        date(2001, 6, 18),
        "084",
        "13600136008",
        "1500",
        "0",
        70,
        occupation="学徒",
        after=("review",),
    ),
    DemoBorrower(
        "黄强",
        "320102",
        date(1979, 12, 1),
        "151",
        "13500135009",
        "15000",
        "1000",
        70,
        None,
        ("data_processing",),
    ),
    DemoBorrower("周婷", "810000", date(1991, 3, 22), "026", "13300133010", "30000", "0", 70),
    DemoBorrower(
        "吴刚",
        "210102",
        date(1975, 7, 7),
        "199",
        "13200132011",
        "7000",
        "0",
        70,
        civil_capacity=LIMITED_CAPACITY,
    ),
    DemoBorrower(
        "徐丽", "370102", date(1994, 10, 10), "208", "13100131012", "10000", "1000", 70, (0, 0, 9)
    ),
    DemoBorrower(
        "孙鹏",
        "610102",
        date(1998, 12, 25),
        "237",
        "15800158013",
        "6000",
        "500",
        12,
        after=("override",),
    ),
    # Borrowed, paid once, then nothing for over 180 days: written off (核销), with a recovery.
    DemoBorrower("郑凯", "230102", date(1986, 3, 3), "173", "13400134014", "20000", "1000", 75),
]

# Borrowers to sign in as in the portal (/login/): type the mobile, press "Text me a code"; the
# code appears in the `make run` console, where the development SMS backend prints every text.
PORTAL_LOGINS = [
    ("13800138001", "张伟", "loans paid on time and settled (with a refund); can borrow more"),
    ("13900139002", "李娜", "prepaid, then overdue; an approved draw that signing now refuses"),
    ("15000150003", "王芳", "interest-first loan overdue; a cancelled draw"),
    ("18600186004", "马超", "credit line frozen"),
    ("15800158013", "孙鹏", "a draw rejected by the rules"),
    ("13400134014", "郑凯", "a written-off loan with a recovery"),
    ("13300133010", "周婷", "declined: not a mainland resident (no line)"),
]
