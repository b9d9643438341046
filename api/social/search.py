"""Full-text search behind one small interface, :class:`SearchIndex`, with two backends: SQLite FTS5
(:class:`Fts5Index`, https://www.sqlite.org/fts5.html, ranked by ``bm25()``) and PostgreSQL text search
(:class:`TsvectorIndex`, ``to_tsvector``/``to_tsquery`` with ``ts_rank``, served by GIN expression indexes).

What is searchable is a list of :class:`SearchSource`: a table, its text, how popular a row is, which rows a
viewer may see, and how a row is read. Adding a kind (products, from the commerce domain) is one more source
plus its FTS5 table and GIN index in that domain's migration. The final score is relevance times a
saturating popularity boost, ``1 + p / (p + 10)``: popularity reorders close matches but cannot lift a poor
match above a good one by more than a factor of two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from api.social import graph
from api.social.content import content_query
from api.social.profiles import profile_query
from api.social.sounds import sound_query
from api.social.text import search_terms
from store.database import Database
from store.schema.accounts import users
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
    rows: Callable[[str | None], sa.Select[Any]]
    visible: Callable[[str | None], sa.ColumnElement[bool]]
    label: str  # the column whose text a suggestion shows


class SearchIndex(Protocol):
    def matches(self, source: SearchSource, terms: list[str], cap: int) -> sa.Select[Any]:
        """The ``cap`` most relevant rows ``(ref_id, relevance)`` matching every term, the last one as a
        prefix; higher relevance is better."""
        ...


class Fts5Index:
    def matches(self, source: SearchSource, terms: list[str], cap: int) -> sa.Select[Any]:
        fts = sa.table(source.fts_table, sa.column("ref_id"))
        table: sa.ColumnElement[Any] = sa.literal_column(source.fts_table)
        # Each term is a quoted FTS5 string (terms hold only word characters); the last is a prefix query.
        expression = " ".join(f'"{t}"' for t in terms[:-1]) + f' "{terms[-1]}"*'
        # ORDER BY rank LIMIT lets FTS5 keep only the best rows instead of handing back every match.
        return (
            sa.select(fts.c.ref_id.label("ref_id"), (-sa.func.bm25(table)).label("relevance"))
            .where(table.op("MATCH")(expression.strip()))
            .order_by(sa.literal_column("rank"))
            .limit(cap)
        )


class TsvectorIndex:
    def matches(self, source: SearchSource, terms: list[str], cap: int) -> sa.Select[Any]:
        vector: sa.ColumnElement[Any] = sa.literal_column(source.pg_vector)
        text = " & ".join([*terms[:-1], f"{terms[-1]}:*"])
        query = sa.func.to_tsquery(sa.literal_column("'simple'"), text)
        relevance = sa.func.ts_rank(vector, query)
        return (
            sa.select(source.id_column.label("ref_id"), relevance.label("relevance"))
            .where(vector.op("@@")(query))
            .order_by(relevance.desc())
            .limit(cap)
        )


def _user_visible(viewer: str | None) -> sa.ColumnElement[bool]:
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

    def _ranked(self, source: SearchSource, terms: list[str], viewer: str | None) -> sa.Select[Any]:
        hits = self._index.matches(source, terms, CANDIDATES).subquery("hits")
        popularity = source.popularity()
        score = hits.c.relevance * (1.0 + popularity / (popularity + 10.0))
        return (
            source.rows(viewer)
            .join(hits, hits.c.ref_id == source.id_column)
            .add_columns(score.label("score"))
            .where(source.visible(viewer))
        )

    async def search(
        self, kind: str, query: str, viewer: str | None, limit: int, after: tuple[float, str] | None
    ) -> list[Any]:
        terms = search_terms(query)
        if not terms:
            return []
        source = self.sources[kind]
        ranked = self._ranked(source, terms, viewer).subquery("ranked")
        outer = sa.select(ranked)
        if after is not None:
            outer = outer.where(
                sa.or_(ranked.c.score < after[0], sa.and_(ranked.c.score == after[0], ranked.c.id > after[1]))
            )
        outer = outer.order_by(ranked.c.score.desc(), ranked.c.id).limit(limit + 1)
        async with self._db.read() as conn:
            return list(await conn.execute(outer))

    async def suggestions(self, prefix: str, viewer: str | None, limit: int) -> list[tuple[str, str]]:
        """(kind, text) completions: hashtags by use, then usernames and sound titles by rank."""
        terms = search_terms(prefix)
        if not terms:
            return []
        found: list[tuple[str, str]] = []
        async with self._db.read() as conn:
            if len(terms) == 1:
                tags = await conn.execute(
                    sa.select(content_hashtags.c.tag)
                    .where(content_hashtags.c.tag.startswith(terms[0], autoescape=True))
                    .group_by(content_hashtags.c.tag)
                    .order_by(sa.func.count().desc(), content_hashtags.c.tag)
                    .limit(limit)
                )
                found += [("hashtag", f"#{tag}") for tag in list[str](tags.scalars())]
            for kind in ("users", "sounds"):
                source = self.sources[kind]
                ranked = self._ranked(source, terms, viewer).subquery()
                labels = await conn.execute(
                    sa.select(ranked.c[source.label]).order_by(ranked.c.score.desc()).limit(limit)
                )
                found += [(kind, str(label)) for label in list[Any](labels.scalars())]
        return found[:limit]
