"""Full-text search behind one small interface, :class:`SearchIndex`, with two backends: SQLite FTS5
(:class:`Fts5Index`, https://www.sqlite.org/fts5.html, ranked by ``bm25()``) and PostgreSQL text search
(:class:`TsvectorIndex`, ``to_tsvector``/``to_tsquery`` with ``ts_rank``, served by GIN expression indexes).

What is searchable is a list of :class:`SearchSource`: a table, its text, how popular a row is, which rows a
viewer may see, and how a row is read. Products (the commerce domain's table) are one more source, with
their FTS5 table and GIN index in the social migration; another kind is added the same way.

The final score is relevance times a saturating popularity boost, ``1 + p / (p + 10)``: popularity reorders
close matches but cannot lift a poor match above a good one by more than a factor of two.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from api.commerce.products import on_sale
from api.social import graph
from api.social.content import content_query
from api.social.profiles import profile_query
from api.social.sounds import sound_query
from api.social.text import search_terms
from store.database import Database
from store.schema.accounts import users
from store.schema.commerce import products
from store.schema.social import content_hashtags, contents, profiles, sounds

# Results come from this many most relevant matches of a kind; popularity and visibility reorder and filter
# within them. Pages deeper than that do not help a person searching, and ranking every match is not free.
CANDIDATES = 300


@dataclass(frozen=True)
class SearchSource:
    kind: str
    id_column: sa.ColumnElement[str]
    fts_table: str  # SQLite: the FTS5 table (ref_id, text columns...)
    pg_vector: str  # PostgreSQL: exactly the expression of the GIN index
    popularity: Callable[[], sa.ColumnElement[Any]]
    rows: Callable[[graph.Viewer], sa.Select[Any]]
    visible: Callable[[graph.Viewer], sa.ColumnElement[bool]]
    label: str  # the column whose text a suggestion shows


_NAMED = ("users", "sounds")  # kinds whose names complete a search
_QUERY = sa.bindparam("query", type_=sa.String)
_VIEWER = sa.bindparam("viewer", type_=sa.String)
_SCORE = sa.bindparam("score", type_=sa.Float)
_LAST = sa.bindparam("last", type_=sa.String)
_LIMIT = sa.bindparam("limit", type_=sa.Integer)


class SearchIndex(Protocol):
    def query_text(self, terms: list[str]) -> str:
        """The engine's query for rows holding every term, the last one as a prefix."""
        ...

    def matches(self, source: SearchSource, query: sa.BindParameter[str], cap: int) -> sa.Select[Any]:
        """The ``cap`` most relevant rows ``(ref_id, relevance)`` matching ``query`` (a ``query_text``);
        higher relevance is better."""
        ...


class Fts5Index:
    def query_text(self, terms: list[str]) -> str:
        # Each term is a quoted FTS5 string (terms hold only word characters); the last is a prefix query.
        return " ".join([*(f'"{t}"' for t in terms[:-1]), f'"{terms[-1]}"*'])

    def matches(self, source: SearchSource, query: sa.BindParameter[str], cap: int) -> sa.Select[Any]:
        fts = sa.table(source.fts_table, sa.column("ref_id"))
        table: sa.ColumnElement[Any] = sa.literal_column(source.fts_table)
        # ORDER BY rank LIMIT lets FTS5 keep only the best rows instead of handing back every match.
        return (
            sa.select(fts.c.ref_id.label("ref_id"), (-sa.func.bm25(table)).label("relevance"))
            .where(table.op("MATCH")(query))
            .order_by(sa.literal_column("rank"))
            .limit(cap)
        )


class TsvectorIndex:
    def query_text(self, terms: list[str]) -> str:
        return " & ".join([*terms[:-1], f"{terms[-1]}:*"])

    def matches(self, source: SearchSource, query: sa.BindParameter[str], cap: int) -> sa.Select[Any]:
        vector: sa.ColumnElement[Any] = sa.literal_column(source.pg_vector)
        tsquery = sa.func.to_tsquery(sa.literal_column("'simple'"), query)
        relevance = sa.func.ts_rank(vector, tsquery)
        return (
            sa.select(source.id_column.label("ref_id"), relevance.label("relevance"))
            .where(vector.op("@@")(tsquery))
            .order_by(relevance.desc())
            .limit(cap)
        )


def _user_visible(viewer: graph.Viewer) -> sa.ColumnElement[bool]:
    active = users.c.status == "active"
    return active if viewer is None else sa.and_(active, ~graph.blocked_between(users.c.id, viewer))


SOURCES: dict[str, SearchSource] = {
    "users": SearchSource(
        "users",
        users.c.id,
        "search_users",
        "to_tsvector('simple', users.username || ' ' || users.display_name)",
        lambda: sa.func.coalesce(profiles.c.follower_count, 0),
        lambda _viewer: profile_query(),
        _user_visible,
        "username",
    ),
    "content": SearchSource(
        "content",
        contents.c.id,
        "search_contents",
        "to_tsvector('simple', contents.caption)",
        lambda: contents.c.like_count + contents.c.comment_count + contents.c.view_count / 10.0,
        content_query,
        lambda viewer: sa.and_(contents.c.status == "ready", graph.can_see(contents.c.creator_id, viewer)),
        "caption",
    ),
    "products": SearchSource(
        "products",
        products.c.id,
        "search_products",
        "to_tsvector('simple', products.title || ' ' || products.description || ' ' || products.category)",
        lambda: products.c.sold,
        lambda _viewer: sa.select(products),
        lambda _viewer: on_sale(),
        "title",
    ),
    "sounds": SearchSource(
        "sounds",
        sounds.c.id,
        "search_sounds",
        "to_tsvector('simple', sounds.title || ' ' || sounds.artist)",
        lambda: sounds.c.use_count + sounds.c.favorite_count,
        sound_query,
        lambda _viewer: sa.true(),
        "title",
    ),
}


class Search:
    def __init__(self, db: Database, sources: dict[str, SearchSource] | None = None) -> None:
        self._db = db
        self.sources = dict(sources or SOURCES)
        self._index: SearchIndex = Fts5Index() if db.is_sqlite else TsvectorIndex()
        self._statements: dict[tuple[str, bool, bool], sa.Select[Any]] = {}

    def _ranked(self, source: SearchSource, signed_in: bool) -> sa.Subquery:
        hits = self._index.matches(source, _QUERY, CANDIDATES).subquery("hits")
        popularity = source.popularity()
        score = hits.c.relevance * (1.0 + popularity / (popularity + 10.0))
        viewer = _VIEWER if signed_in else None
        return (
            source.rows(viewer)
            .join(hits, hits.c.ref_id == source.id_column)
            .add_columns(score.label("score"))
            .where(source.visible(viewer))
            .subquery("ranked")
        )

    def _statement(self, kind: str, signed_in: bool, after: bool) -> sa.Select[Any]:
        """Built once per shape and reused with new parameters: building a statement of this size costs
        more CPU than the search itself."""
        key = (kind, signed_in, after)
        statement = self._statements.get(key)
        if statement is None:
            ranked = self._ranked(self.sources[kind], signed_in)
            statement = sa.select(ranked)
            if after:
                statement = statement.where(
                    sa.or_(ranked.c.score < _SCORE, sa.and_(ranked.c.score == _SCORE, ranked.c.id > _LAST))
                )
            statement = statement.order_by(ranked.c.score.desc(), ranked.c.id).limit(_LIMIT)
            self._statements[key] = statement
        return statement

    async def search(
        self, kind: str, query: str, viewer: str | None, limit: int, after: tuple[float, str] | None
    ) -> list[Any]:
        return (await self.search_kinds((kind,), query, viewer, limit, after))[kind]

    async def search_kinds(
        self,
        kinds: Sequence[str],
        query: str,
        viewer: str | None,
        limit: int,
        after: tuple[float, str] | None = None,
    ) -> dict[str, list[Any]]:
        """Rows of each kind, best first (``limit + 1`` of them, for paging), read in one transaction."""
        terms = search_terms(query)
        if not terms:
            return {kind: [] for kind in kinds}
        params: dict[str, Any] = {
            "query": self._index.query_text(terms),
            "viewer": viewer,
            "limit": limit + 1,
        }
        if after is not None:
            params.update(score=after[0], last=after[1])
        statements = {kind: self._statement(kind, viewer is not None, after is not None) for kind in kinds}
        # One trip to a reader thread for all kinds (store.database.Database.run_read).
        return await self._db.run_read(
            lambda conn: {kind: list(conn.execute(statement, params)) for kind, statement in statements.items()}
        )

    async def suggestions(self, prefix: str, viewer: str | None, limit: int) -> list[tuple[str, str]]:
        """(kind, text) completions: hashtags by use, then usernames and sound titles by rank."""
        terms = search_terms(prefix)
        if not terms:
            return []
        params = {"query": self._index.query_text(terms), "viewer": viewer, "limit": limit}
        named = [(kind, self.sources[kind].label, self._statement(kind, viewer is not None, False)) for kind in _NAMED]

        def read(conn: sa.Connection) -> list[tuple[str, str]]:
            # Runs on a reader thread, in one trip (store.database.Database.run_read): one per keystroke.
            found: list[tuple[str, str]] = []
            if len(terms) == 1:
                tags = conn.execute(
                    sa.select(content_hashtags.c.tag)
                    .where(content_hashtags.c.tag.startswith(terms[0], autoescape=True))
                    .group_by(content_hashtags.c.tag)
                    .order_by(sa.func.count().desc(), content_hashtags.c.tag)
                    .limit(limit)
                )
                found += [("hashtag", f"#{tag}") for tag in list[str](tags.scalars())]
            for kind, column, statement in named:
                found += [(kind, str(getattr(row, column))) for row in conn.execute(statement, params)]
            return found[:limit]

        return await self._db.run_read(read)
