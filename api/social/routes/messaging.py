"""``/api/messaging``: conversations, messages, send, delete, read receipts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aiohttp import web
from pydantic import Field, HttpUrl

from api.models import Id, Page, PageQuery, Paragraphs, RequestModel, ResponseModel
from api.pagination import encode_cursor
from api.routing import Routes, principal
from api.social.routes.models import Message, UserSummary, id_cursor, message_model, millis, time_cursor
from api.state import SOCIAL

routes = Routes()
TAGS = ("messaging",)


class SendBody(RequestModel):
    recipient_id: Id
    text: Annotated[Paragraphs, Field(min_length=1, max_length=2000)] | None = None
    content_id: Id | None = Field(None, description="Share a post.")
    media_url: HttpUrl | None = Field(None, description="A link to media hosted elsewhere.")


class Conversation(ResponseModel):
    id: str
    peer: UserSummary
    unread_count: int
    last_message_at: datetime
    last_message: Message | None


class ReadReceipt(ResponseModel):
    conversation_id: str
    last_read_id: str | None


class MessagesPage(Page[Message]):
    peer_last_read_id: str | None = Field(None, description="The last message the other person has read.")


@routes.get("/api/messaging/conversations", query=PageQuery, response=Page[Conversation], tags=TAGS)
async def list_conversations(request: web.Request, query: PageQuery) -> Page[Conversation]:
    """My conversations, most recent activity first, with unread counts."""
    rows = await request.app[SOCIAL].messaging.conversations(
        principal(request).user_id, query.limit, time_cursor(query.cursor)
    )
    items = rows[: query.limit]
    cursor = encode_cursor([millis(items[-1][0].last_message_at), items[-1][0].id]) if len(rows) > query.limit else None
    return Page[Conversation](
        items=[
            Conversation(
                id=r.id,
                peer=UserSummary(id=r.peer_id, username=r.peer_username, display_name=r.peer_display_name),
                unread_count=r.unread_count,
                last_message_at=r.last_message_at,
                last_message=message_model(last) if last is not None else None,
            )
            for r, last in items
        ],
        next_cursor=cursor,
    )


@routes.get(
    "/api/messaging/conversations/{conversation_id}/messages",
    query=PageQuery,
    response=MessagesPage,
    tags=TAGS,
    errors=(404,),
)
async def list_messages(request: web.Request, query: PageQuery) -> MessagesPage:
    """Messages of a conversation, newest first; deleted ones are kept as empty placeholders."""
    me = principal(request).user_id
    conversation_id = request.match_info["conversation_id"]
    messaging = request.app[SOCIAL].messaging
    rows = await messaging.messages(conversation_id, me, query.limit, id_cursor(query.cursor))
    items = rows[: query.limit]
    return MessagesPage(
        items=[message_model(r) for r in items],
        next_cursor=encode_cursor([items[-1].id]) if len(rows) > query.limit else None,
        peer_last_read_id=await messaging.peer_read_up_to(conversation_id, me),
    )


@routes.post(
    "/api/messaging/send",
    body=SendBody,
    response=Message,
    status=201,
    tags=TAGS,
    errors=(403, 404, 422),
    idempotent=True,
)
async def send_message(request: web.Request, body: SendBody) -> Message:
    """Send a message; the conversation is created on the first one. Honours ``Idempotency-Key``."""
    row = await request.app[SOCIAL].messaging.send(
        principal(request).user_id,
        body.recipient_id,
        text=body.text,
        content_id=body.content_id,
        media_url=str(body.media_url) if body.media_url else None,
    )
    return message_model(row)


@routes.delete("/api/messaging/messages/{message_id}", status=204, tags=TAGS, errors=(403, 404))
async def delete_message(request: web.Request) -> None:
    """Delete a message I sent (it stays in the thread as deleted)."""
    await request.app[SOCIAL].messaging.delete(request.match_info["message_id"], principal(request).user_id)


@routes.put("/api/messaging/conversations/{conversation_id}/read", response=ReadReceipt, tags=TAGS, errors=(404,))
async def read_conversation(request: web.Request) -> ReadReceipt:
    """Mark a conversation read; the other person gets a read receipt."""
    conversation_id = request.match_info["conversation_id"]
    last = await request.app[SOCIAL].messaging.mark_read(conversation_id, principal(request).user_id)
    return ReadReceipt(conversation_id=conversation_id, last_read_id=last)
