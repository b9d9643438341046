"""``/api/reports``, ``/api/moderation``, ``/api/support``: the seed's safety and support endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field, ValidationError

from api.models import Id, Line, Page, PageQuery, QueryModel, RequestModel, ResponseModel
from api.problems import NotFound
from api.routing import Access, Routes, principal
from api.safety.moderation import Action, ActionRecord, Case
from api.safety.reports import ReportCreate, ReportView
from api.safety.support import Ticket, TicketCreate, TicketReply
from api.safety.targets import TargetKind
from api.state import MODERATION, REPORTS, SUPPORT

routes = Routes()
SAFETY = ("safety",)
SUPPORT_TAGS = ("support",)


@routes.post("/api/reports", body=ReportCreate, response=ReportView, status=201, tags=SAFETY, errors=(404, 409))
async def create_report(request: web.Request, body: ReportCreate) -> ReportView:
    """Report content, a user, a comment, a message, a livestream or a product."""
    return await request.app[REPORTS].file(principal(request).user_id, body)


@routes.get("/api/reports/my", query=PageQuery, response=Page[ReportView], tags=SAFETY)
async def my_reports(request: web.Request, query: PageQuery) -> Page[ReportView]:
    """The caller's reports and what became of each."""
    return await request.app[REPORTS].mine(principal(request).user_id, query.limit, query.cursor)


@routes.get("/api/moderation/queue", query=PageQuery, response=Page[Case], access=Access.ADMIN, tags=SAFETY)
async def moderation_queue(request: web.Request, query: PageQuery) -> Page[Case]:
    """Cases waiting for a moderator, oldest first."""
    return await request.app[MODERATION].queue(query.limit, query.cursor)


class ModerationRequest(RequestModel):
    action: Action
    reason: Annotated[Line, Field(max_length=300)] = ""


class ActionHistory(ResponseModel):
    items: list[ActionRecord]


@routes.post(
    "/api/moderation/{kind}/{target_id}",
    body=ModerationRequest,
    response=ActionRecord,
    status=201,
    access=Access.ADMIN,
    tags=SAFETY,
    errors=(404, 409),
)
async def moderate(request: web.Request, body: ModerationRequest) -> ActionRecord:
    """Act on a target (``/api/moderation/content/:contentId`` and other kinds): remove, restore, warn, ban."""
    kind, target_id = _target(request)
    return await request.app[MODERATION].act(principal(request).user_id, kind, target_id, body.action, body.reason)


@routes.get(
    "/api/moderation/{kind}/{target_id}/actions",
    response=ActionHistory,
    access=Access.ADMIN,
    tags=SAFETY,
    errors=(404,),
)
async def moderation_history(request: web.Request) -> ActionHistory:
    """The audit trail of actions on one target."""
    kind, target_id = _target(request)
    return ActionHistory(items=await request.app[MODERATION].history(kind, target_id))


def _target(request: web.Request) -> tuple[TargetKind, str]:
    try:
        target = ModerationTarget.model_validate(dict(request.match_info))
    except ValidationError:
        raise NotFound("no such moderation target", slug="target-not-found") from None
    return target.kind, target.target_id


class ModerationTarget(QueryModel):
    kind: TargetKind
    target_id: Id


class TicketQuery(PageQuery):
    scope: Literal["mine", "all"] = Field("mine", description="`all`: every ticket (support agents).")
    status: str | None = Field(None, max_length=10)


@routes.post("/api/support/tickets", body=TicketCreate, response=Ticket, status=201, tags=SUPPORT_TAGS)
async def open_ticket(request: web.Request, body: TicketCreate) -> Ticket:
    """Open a support ticket."""
    return await request.app[SUPPORT].open(principal(request).user_id, body)


@routes.get("/api/support/tickets", query=TicketQuery, response=Page[Ticket], tags=SUPPORT_TAGS)
async def list_tickets(request: web.Request, query: TicketQuery) -> Page[Ticket]:
    """The caller's tickets (agents: ``scope=all``)."""
    return await request.app[SUPPORT].tickets(
        principal(request), query.scope == "all", query.status, query.limit, query.cursor
    )


@routes.get("/api/support/tickets/{ticket_id}", response=Ticket, tags=SUPPORT_TAGS, errors=(404,))
async def get_ticket(request: web.Request) -> Ticket:
    """A ticket with its conversation."""
    return await request.app[SUPPORT].get(principal(request), request.match_info["ticket_id"])


@routes.post(
    "/api/support/tickets/{ticket_id}/reply",
    body=TicketReply,
    response=Ticket,
    status=201,
    tags=SUPPORT_TAGS,
    errors=(404, 409),
)
async def reply_ticket(request: web.Request, body: TicketReply) -> Ticket:
    """Reply to a ticket (the user, or an agent)."""
    return await request.app[SUPPORT].reply(principal(request), request.match_info["ticket_id"], body)


@routes.put("/api/support/tickets/{ticket_id}/close", response=Ticket, tags=SUPPORT_TAGS, errors=(404, 409))
async def close_ticket(request: web.Request) -> Ticket:
    """Close a ticket."""
    return await request.app[SUPPORT].close(principal(request), request.match_info["ticket_id"])
