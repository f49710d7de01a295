"""拍卖 / 挂牌 / 网络竞价 (land, mining rights, state assets): the ascending-price bidding engine.
Importing the package registers its stage machines (rules.py)."""

from . import rules  # noqa: F401  (registers the machines)
