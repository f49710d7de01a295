"""Projects (进场登记) and their lots: the visible list, the detail with lots, route decision and review
trail, registration, update with expected_version, submission, and the centre's return / accept /
refuse. Every call goes through trading.projects.services, the same use cases as the HTML pages."""

from __future__ import annotations

from flask import current_app

from trading.core.context import ServiceContext
from trading.core.errors import NotFound, not_found
from trading.projects import queries as project_queries
from trading.projects import services as projects
from trading.projects.models import Lot

from . import bp
from .framework import PageQuery, ctx, operation, page_schema
from .project_schemas import (
    CommentOptionalSchema,
    CommentRequiredSchema,
    LotSchema,
    ProjectCreateSchema,
    ProjectQuery,
    ProjectSchema,
    ProjectSummarySchema,
    ProjectUpdateSchema,
    SubmitSchema,
)

OWNER_SIDE = ("owner", "agency")
CENTRE = ("operator",)
READERS = ("owner", "agency", "operator", "supervisor")


def get_visible_lot(context: ServiceContext, lot_id: int) -> Lot:
    """A lot of a project the actor may see; 404 with one wording whether missing or not visible."""
    lot = context.session.get(Lot, lot_id)
    try:
        if lot is None:
            raise not_found("标段", "lot")
        projects.get_visible_project(context, lot.project_id)
    except NotFound:
        raise not_found("标段（包）", "lot") from None
    return lot


def _project(project) -> dict:
    return ProjectSchema().dump(project)


@operation(bp, "GET", "/projects", summary="可见的项目 / visible projects", tag="projects", query=ProjectQuery,
           response=page_schema(ProjectSummarySchema), roles=READERS,
           description="业主/代理见本单位项目，交易中心见已提交的项目，监督见全部；其他角色得到空列表。")
def list_projects(query):
    page = project_queries.projects_for(ctx(), status=query.get("status"), page=query["page"],
                                        per_page=query["per_page"])
    return {"items": ProjectSummarySchema(many=True).dump(page.items), "page": page.page,
            "per_page": query["per_page"], "total": page.total}


@operation(bp, "GET", "/projects/<int:project_id>", summary="项目详情（标段、路由结论、审核记录） / a project",
           tag="projects", response=ProjectSchema, roles=READERS)
def get_project(project_id):
    return _project(projects.get_visible_project(ctx(), project_id))


@operation(bp, "POST", "/projects", summary="进场登记（草稿） / register a project (draft)", tag="projects",
           body=ProjectCreateSchema, response=ProjectSchema, status=201, errors=(403,), roles=OWNER_SIDE)
def register_project(body):
    return _project(projects.register_project(ctx(), **body))


@operation(bp, "PATCH", "/projects/<int:project_id>", summary="修改登记（草稿或退回） / update a registration",
           tag="projects", body=ProjectUpdateSchema, response=ProjectSchema, errors=(403, 409), roles=OWNER_SIDE,
           description="只需给出要修改的字段和 expected_version；lots 给出时整体替换。")
def update_project(project_id, body):
    expected = body.pop("expected_version")
    return _project(projects.update_project(ctx(), project_id, expected_version=expected, **body))


@operation(bp, "POST", "/projects/<int:project_id>/submit", summary="提交进场审核 / submit for review",
           tag="projects", body=SubmitSchema, response=ProjectSchema, errors=(403, 409), roles=OWNER_SIDE)
def submit_project(project_id, body):
    return _project(projects.submit_project(ctx(), project_id, expected_version=body["expected_version"],
                                            comment=body["comment"],
                                            trade_code_prefix=current_app.config["TRADE_CODE_PREFIX"]))


@operation(bp, "POST", "/projects/<int:project_id>/return", summary="退回修改 / return for correction",
           tag="projects", body=CommentRequiredSchema, response=ProjectSchema, errors=(403, 409), roles=CENTRE)
def return_project(project_id, body):
    return _project(projects.return_project(ctx(), project_id, body["comment"]))


@operation(bp, "POST", "/projects/<int:project_id>/accept", summary="受理 / accept", tag="projects",
           body=CommentOptionalSchema, response=ProjectSchema, errors=(403, 409), roles=CENTRE)
def accept_project(project_id, body):
    return _project(projects.accept_project(ctx(), project_id, body["comment"]))


@operation(bp, "POST", "/projects/<int:project_id>/refuse", summary="不予受理 / refuse", tag="projects",
           body=CommentRequiredSchema, response=ProjectSchema, errors=(403, 409), roles=CENTRE)
def refuse_project(project_id, body):
    return _project(projects.refuse_project(ctx(), project_id, body["comment"]))


@operation(bp, "GET", "/projects/<int:project_id>/lots", summary="项目的标段（包） / a project's lots",
           tag="lots", query=PageQuery, response=page_schema(LotSchema), roles=READERS)
def list_lots(project_id, query):
    lots = projects.get_visible_project(ctx(), project_id).lots
    page, per_page = query["page"], query["per_page"]
    return {"items": LotSchema(many=True).dump(lots[(page - 1) * per_page: page * per_page]), "page": page,
            "per_page": per_page, "total": len(lots)}


@operation(bp, "GET", "/lots/<int:lot_id>", summary="标段（包） / a lot", tag="lots", response=LotSchema,
           roles=READERS)
def get_lot(lot_id):
    return LotSchema().dump(get_visible_lot(ctx(), lot_id))
