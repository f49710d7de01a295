"""Notices (公告): the public list with the portal's filters, a notice (public view for everyone, staff
view for the project side, the centre and supervisors), drafting, the period check and publishing —
through trading.procedures.common.services and trading.portal.queries, as the HTML pages do."""

from __future__ import annotations

from trading.core.context import ServiceContext
from trading.core.errors import NotFound
from trading.portal import queries as portal
from trading.procedures.common import services as notices

from . import bp
from .framework import PUBLIC, ctx, operation
from .notice_schemas import (
    CheckSchema,
    NoticeCreateSchema,
    NoticePageSchema,
    NoticePublicSchema,
    NoticeQuery,
    NoticeStaffSchema,
    NoticeUpdateSchema,
)

WRITERS = tuple(notices.WRITERS)
READERS = tuple(notices.READERS)


def notice_for_audience(context: ServiceContext, notice_id: int):
    """(schema, notice): the staff view when the actor works on the notice's project, else the public
    view of a published notice; a draft of someone else is a 404 like a missing id."""
    if context.actor.has(*READERS):
        try:
            return NoticeStaffSchema, notices.get_visible_notice(context, notice_id)
        except NotFound:
            pass
    return NoticePublicSchema, portal.public_notice(context.session, notice_id)


def _staff(notice) -> dict:
    return NoticeStaffSchema().dump(notice)


@operation(bp, "GET", "/notices", summary="公告列表（与门户相同的筛选） / published notices", tag="notices",
           auth=PUBLIC, query=NoticeQuery, response=NoticePageSchema)
def list_notices(query):
    page, per_page = query.pop("page"), query.pop("per_page")
    c = ctx()
    result = portal.search_notices(c.session, portal.NoticeFilters(**query), page, per_page, c.now())
    return {"items": NoticePublicSchema(many=True).dump(result.items), "page": result.page,
            "per_page": result.per_page, "total": result.total,
            "total_capped": bool(getattr(result, "capped", False))}


@operation(bp, "GET", "/notices/<int:notice_id>", summary="公告详情 / a notice", tag="notices", auth=PUBLIC,
           response=[NoticePublicSchema, NoticeStaffSchema],
           description="已发布的公告人人可见（公开视图）；项目方、交易中心和监督另可见草稿及起草信息（内部视图）。")
def get_notice(notice_id):
    schema, notice = notice_for_audience(ctx(), notice_id)
    return schema().dump(notice)


@operation(bp, "POST", "/notices", summary="起草公告 / draft a notice", tag="notices", body=NoticeCreateSchema,
           response=NoticeStaffSchema, status=201, errors=(403, 404, 409), roles=WRITERS,
           description="项目须已受理。变更公告须给出 previous_id，未给出的关键时间沿用原公告。")
def create_notice(body):
    project_id = body.pop("project_id")
    return _staff(notices.create_notice(ctx(), project_id, **body))


@operation(bp, "PATCH", "/notices/<int:notice_id>", summary="修改公告草稿 / edit a draft", tag="notices",
           body=NoticeUpdateSchema, response=NoticeStaffSchema, errors=(403, 409), roles=WRITERS,
           description="只改给出的字段；关键时间给 null 表示清除。已发布的公告不能修改（409）。")
def update_notice(notice_id, body):
    return _staff(notices.update_notice(ctx(), notice_id, **body))


@operation(bp, "GET", "/notices/<int:notice_id>/check", summary="发布前期限检查 / the period check",
           tag="notices", response=CheckSchema, errors=(403,), roles=READERS)
def check_notice(notice_id):
    violations = notices.check_notice(ctx(), notice_id)
    return CheckSchema().dump({"ok": not violations, "violations": violations})


@operation(bp, "POST", "/notices/<int:notice_id>/publish", summary="发布公告 / publish", tag="notices",
           response=NoticeStaffSchema, errors=(403, 409), roles=WRITERS,
           description="法定期限不满足时返回 422，details.violations 列出依据和最早合规时间。")
def publish_notice(notice_id):
    return _staff(notices.publish_notice(ctx(), notice_id))
