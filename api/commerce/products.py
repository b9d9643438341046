"""The catalog: creators list and edit products; everyone browses, searches and sees what is featured."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa

from api.auth.tokens import Principal
from api.commerce.models import Product, ProductCreate, ProductUpdate
from api.models import Page
from api.pagination import decode_cursor, page_of
from api.problems import Forbidden, NotFound
from store.database import Database
from store.ids import new_id
from store.schema.accounts import users
from store.schema.commerce import products
from store.types import utcnow

# Called after a product's text is saved, so AI moderation can flag it into the queue (see api.safety).
TextScreen = Callable[[str, str, str, str], Awaitable[None]]


def on_sale() -> sa.ColumnElement[bool]:
    """Listed and for sale: active, from a seller whose account is not banned (a ban empties the shop at once)."""
    seller_ok = sa.select(users.c.id).where(users.c.id == products.c.seller_id, users.c.status != "banned").exists()
    return sa.and_(products.c.status == "active", seller_ok)


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def to_product(row: Any) -> Product:
    return Product.model_validate(row)


class Catalog:
    def __init__(self, db: Database, screen: TextScreen | None = None) -> None:
        self._db = db
        self._screen = screen

    async def create(self, seller: Principal, body: ProductCreate) -> Product:
        now = utcnow()
        values = body.model_dump()
        values.update(
            id=new_id(),
            seller_id=seller.user_id,
            sold=0,
            featured=False,
            status="active",
            created_at=now,
            updated_at=now,
        )
        async with self._db.write() as conn:
            await conn.execute(products.insert().values(**values))
        product = Product.model_validate(values)
        await self._screen_text(product)
        return product

    async def update(self, who: Principal, product_id: str, body: ProductUpdate) -> Product:
        changes = body.model_dump(exclude_unset=True)
        if "featured" in changes and not who.is_admin:
            raise Forbidden("only administrators feature products", slug="not-admin")
        async with self._db.write() as conn:
            row = await self._get(conn, product_id)
            if row.seller_id != who.user_id and not who.is_admin:
                raise Forbidden("this product belongs to another seller", slug="not-your-product")
            if row.status == "removed":
                raise Forbidden("moderation removed this product; it cannot be edited", slug="product-removed")
            if changes:
                changes["updated_at"] = utcnow()
                await conn.execute(products.update().where(products.c.id == product_id).values(**changes))
            product = to_product(await self._get(conn, product_id))
        if {"title", "description"} & changes.keys():
            await self._screen_text(product)
        return product

    async def get(self, product_id: str, viewer: Principal | None = None) -> Product:
        async with self._db.read() as conn:
            row = await self._get(conn, product_id)
            for_sale = (await conn.execute(sa.select(on_sale()).where(products.c.id == product_id))).scalar()
        visible = bool(for_sale) or (viewer is not None and (viewer.is_admin or viewer.user_id == row.seller_id))
        if not visible:
            raise NotFound("no such product", slug="product-not-found")
        return to_product(row)

    async def browse(
        self, limit: int, cursor: str | None, seller_id: str | None = None, category: str | None = None
    ) -> Page[Product]:
        query = sa.select(products).where(on_sale())
        if seller_id:
            query = query.where(products.c.seller_id == seller_id)
        if category:
            query = query.where(products.c.category == category)
        return await self._page(query, limit, cursor)

    async def search(self, text: str, limit: int, cursor: str | None) -> Page[Product]:
        pattern = f"%{escape_like(text.lower())}%"
        query = sa.select(products).where(
            on_sale(),
            sa.or_(
                sa.func.lower(products.c.title).like(pattern, escape="\\"),
                sa.func.lower(products.c.description).like(pattern, escape="\\"),
                sa.func.lower(products.c.category).like(pattern, escape="\\"),
            ),
        )
        return await self._page(query, limit, cursor)

    async def featured(self, limit: int) -> list[Product]:
        """Products an administrator featured first, then the best sellers that are in stock."""
        query = (
            sa.select(products)
            .where(on_sale(), products.c.stock > 0)
            .order_by(products.c.featured.desc(), products.c.sold.desc(), products.c.id.desc())
            .limit(limit)
        )
        async with self._db.read() as conn:
            return [to_product(row) for row in await conn.execute(query)]

    async def set_removed(self, product_id: str, removed: bool) -> None:
        """Moderation: take a product down (it leaves listings and search at once) or put it back."""
        async with self._db.write() as conn:
            await conn.execute(
                products.update()
                .where(products.c.id == product_id)
                .values(status="removed" if removed else "active", updated_at=utcnow())
            )

    async def owner_of(self, product_id: str) -> str | None:
        async with self._db.read() as conn:
            found = await conn.execute(sa.select(products.c.seller_id).where(products.c.id == product_id))
            return found.scalar_one_or_none()

    async def _page(self, query: sa.Select[Any], limit: int, cursor: str | None) -> Page[Product]:
        after = decode_cursor(cursor, 1)
        if after:
            query = query.where(products.c.id < str(after[0]))
        query = query.order_by(products.c.id.desc()).limit(limit + 1)
        async with self._db.read() as conn:
            rows = [to_product(row) for row in await conn.execute(query)]
        items, next_cursor = page_of(rows, limit, lambda p: [p.id])
        return Page[Product](items=items, next_cursor=next_cursor)

    @staticmethod
    async def _get(conn: Any, product_id: str) -> Any:
        row = (await conn.execute(sa.select(products).where(products.c.id == product_id))).first()
        if row is None:
            raise NotFound("no such product", slug="product-not-found")
        return row

    async def _screen_text(self, product: Product) -> None:
        if self._screen is not None:
            await self._screen("product", product.id, product.seller_id, f"{product.title}\n{product.description}")
