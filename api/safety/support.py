"""Support tickets: a user opens one, the user and agents (administrators) reply, and it moves through
open -> pending (waiting for the user) -> resolved or closed. A closed ticket takes no more replies; a user's
reply reopens a pending or resolved one. The user is notified of every agent reply.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import Field

from api.auth.tokens import Principal
from api.models import Line, Page, Paragraphs, RequestModel, ResponseModel
from api.pagination import decode_cursor, page_of
from api.problems import Conflict, NotFound
from api.social.notifications import Kind, Notifications
from store.database import Database
from store.ids import new_id
from store.schema.safety import support_messages, support_tickets
from store.types import utcnow

Attachment = Annotated[str, Field(max_length=512, pattern=r"^https?://\S+$")]


class TicketStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class TicketCreate(RequestModel):
    subject: Annotated[Line, Field(min_length=3, max_length=150)]
    category: Literal["account", "payment", "order", "live", "content", "safety", "bug", "other"]
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    message: Annotated[Paragraphs, Field(min_length=1, max_length=5000)]
    attachments: Annotated[list[Attachment], Field(max_length=5)] = Field(default_factory=list)


class TicketReply(RequestModel):
    message: Annotated[Paragraphs, Field(min_length=1, max_length=5000)]
    attachments: Annotated[list[Attachment], Field(max_length=5)] = Field(default_factory=list)
    resolve: bool = Field(False, description="Agents only: mark the ticket resolved with this reply.")


class Message(ResponseModel):
    id: str
    author_id: str | None
    author_role: str
    body: str
    attachments: list[str]
    created_at: datetime


class Ticket(ResponseModel):
    id: str
    user_id: str
    subject: str
    category: str
    priority: str
    status: str
    unread_for_user: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    messages: list[Message] = Field(default_factory=list)


class Support:
    def __init__(self, db: Database, notifications: Notifications) -> None:
        self._db = db
        self._notifications = notifications

    async def open(self, user_id: str, body: TicketCreate) -> Ticket:
        now = utcnow()
        ticket_id = new_id()
        async with self._db.write() as conn:
            await conn.execute(
                support_tickets.insert().values(
                    id=ticket_id,
                    user_id=user_id,
                    subject=body.subject,
                    category=body.category,
                    priority=body.priority,
                    status=TicketStatus.OPEN,
                    unread_for_user=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            await self._add(conn, ticket_id, user_id, "user", body.message, body.attachments)
        return await self._load(ticket_id)

    async def tickets(
        self, who: Principal, everyone: bool, status: str | None, limit: int, cursor: str | None
    ) -> Page[Ticket]:
        query = sa.select(support_tickets)
        if not (everyone and who.is_admin):
            query = query.where(support_tickets.c.user_id == who.user_id)
        if status:
            query = query.where(support_tickets.c.status == status)
        after = decode_cursor(cursor, 1)
        if after:
            query = query.where(support_tickets.c.id < str(after[0]))
        async with self._db.read() as conn:
            rows = [
                Ticket.model_validate(r)
                for r in await conn.execute(query.order_by(support_tickets.c.id.desc()).limit(limit + 1))
            ]
        items, next_cursor = page_of(rows, limit, lambda t: [t.id])
        return Page[Ticket](items=items, next_cursor=next_cursor)

    async def get(self, who: Principal, ticket_id: str) -> Ticket:
        ticket = await self._load(ticket_id)
        self._check_access(who, ticket)
        if who.user_id == ticket.user_id and ticket.unread_for_user:
            async with self._db.write() as conn:
                await conn.execute(
                    support_tickets.update().where(support_tickets.c.id == ticket_id).values(unread_for_user=0)
                )
            ticket.unread_for_user = 0
        return ticket

    async def reply(self, who: Principal, ticket_id: str, body: TicketReply) -> Ticket:
        ticket = await self._load(ticket_id)
        self._check_access(who, ticket)
        agent = who.user_id != ticket.user_id
        if body.resolve and not agent:
            raise Conflict("only a support agent resolves a ticket; close it instead", slug="agent-only")
        now = utcnow()
        if agent:
            to = TicketStatus.RESOLVED if body.resolve else TicketStatus.PENDING
            values: dict[str, Any] = {"status": to, "unread_for_user": support_tickets.c.unread_for_user + 1}
        else:
            values = {"status": TicketStatus.OPEN}
        async with self._db.write() as conn:
            # Compare-and-set on "not closed": a reply racing a close cannot land on a closed ticket.
            moved = await conn.execute(
                support_tickets.update()
                .where(support_tickets.c.id == ticket_id, support_tickets.c.status != TicketStatus.CLOSED)
                .values(updated_at=now, **values)
            )
            if moved.rowcount != 1:
                raise Conflict("this ticket is closed; open a new one", slug="ticket-closed")
            await self._add(conn, ticket_id, who.user_id, "agent" if agent else "user", body.message, body.attachments)
        if agent:
            await self._notifications.notify(
                Kind.SUPPORT, ticket.user_id, subject_id=ticket_id, text=f"Support replied: {ticket.subject}"
            )
        return await self._load(ticket_id)

    async def close(self, who: Principal, ticket_id: str) -> Ticket:
        ticket = await self._load(ticket_id)
        self._check_access(who, ticket)
        now = utcnow()
        async with self._db.write() as conn:
            moved = await conn.execute(
                support_tickets.update()
                .where(support_tickets.c.id == ticket_id, support_tickets.c.status != TicketStatus.CLOSED)
                .values(status=TicketStatus.CLOSED, closed_at=now, updated_at=now)
            )
        if moved.rowcount != 1:
            raise Conflict("this ticket is already closed", slug="ticket-closed")
        return await self._load(ticket_id)

    @staticmethod
    def _check_access(who: Principal, ticket: Ticket) -> None:
        if ticket.user_id != who.user_id and not who.is_admin:
            raise NotFound("no such ticket", slug="ticket-not-found")

    @staticmethod
    async def _add(conn: Any, ticket_id: str, author: str, role: str, text: str, attachments: list[str]) -> None:
        await conn.execute(
            support_messages.insert().values(
                id=new_id(),
                ticket_id=ticket_id,
                author_id=author,
                author_role=role,
                body=text,
                attachments=json.dumps(attachments),
                created_at=utcnow(),
            )
        )

    async def _load(self, ticket_id: str) -> Ticket:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(support_tickets).where(support_tickets.c.id == ticket_id))).first()
            if row is None:
                raise NotFound("no such ticket", slug="ticket-not-found")
            messages = await conn.execute(
                sa.select(support_messages)
                .where(support_messages.c.ticket_id == ticket_id)
                .order_by(support_messages.c.id)
            )
            ticket = Ticket.model_validate(row)
            ticket.messages = [
                Message(
                    id=m.id,
                    author_id=m.author_id,
                    author_role=m.author_role,
                    body=m.body,
                    attachments=json.loads(m.attachments),
                    created_at=m.created_at,
                )
                for m in messages
            ]
        return ticket
