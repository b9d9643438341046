"""``parse_tables`` on what real scripts printed (tests/bench/data: ``python -m benchmarks.commerce --orders 20
--concurrency 4 --events 500``, ``analytics_feed --events 200 --clients 2``, ``compositor --frames 4
--repeat 1``, ``ledger --seconds 1 --concurrency 8,32``, ``program_feed --frames 10``, ``sfu_fanout --n 4
--relay-n 1 --seconds 4``), and the row-by-row comparison of two results' tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.toolkit.compare import table_pairs, table_rows
from benchmarks.toolkit.tables import Table, chart_columns, markdown_header, markdown_row, number, parse_tables

DATA = Path(__file__).parent / "data"


def test_commerce_prints_two_markdown_tables() -> None:
    orders, events = parse_tables((DATA / "commerce.txt").read_text())
    assert orders.columns == ["backend", "layout", "payment", "buyers", "orders/s", "p50 ms", "p99 ms",
                              "CPU µs/order", "failed"]
    assert len(orders.rows) == 6 and orders.rows[2] == ["SQLite", "hot", "card", "4", "93.2", "40.5", "53.5",
                                                        "9,961", "0"]
    assert orders.title == "" and events.title == ""  # nothing printed above either (the blank line is not one)
    assert orders.key_width() == 3 and orders.key(orders.rows[3]) == ("SQLite", "spread", "none")
    assert orders.numeric_columns() == [3, 4, 5, 6, 7, 8]
    # buyers and failed are the same in every row: parameters, not results, so no bars
    assert [orders.columns[i] for i in chart_columns(orders)] == ["orders/s", "p50 ms", "p99 ms", "CPU µs/order"]
    assert events.columns[2] == "events/s (batches of 1)" and events.rows == [["SQLite", "500", "1,044", "36,391",
                                                                                "0.6"]]
    assert chart_columns(events) == []  # one row: a table says it all


def test_scripts_that_once_aligned_columns_with_spaces_print_markdown() -> None:
    [ledger] = parse_tables((DATA / "ledger.txt").read_text())
    assert ledger.key_width() == 2 and [ledger.key(r) for r in ledger.rows] == [("sqlite", "domain")] * 4
    assert [r[2:4] for r in ledger.rows] == [["512", "8"], ["512", "32"], ["1", "8"], ["1", "32"]]
    assert number(ledger.rows[1][ledger.columns.index("cpu us/gift")]) == 421
    [feed] = parse_tables((DATA / "program_feed.txt").read_text())
    assert feed.title == "program -> RTP, 720x1280 30 fps, 10 frames" and [r[0] for r in feed.rows] == ["H264", "VP8"]
    assert number(feed.rows[1][3]) == 0.73
    [fanout] = parse_tables((DATA / "sfu_fanout.txt").read_text())
    assert fanout.columns[-4:] == ["moving p50 ms", "moving p95 ms", "failed", "fps/sub"]
    assert fanout.key(fanout.rows[1]) == ("relay",)
    assert number(fanout.rows[0][fanout.columns.index("join p95 ms")]) == 138.3


def test_markdown_writers_round_trip() -> None:
    text = "title\n" + markdown_header(["a", "b c"]) + "\n" + markdown_row(["x", "1,044"]) + "\n"
    assert parse_tables(text) == [Table("title", ["a", "b c"], [["x", "1,044"]])]


def test_analytics_feed_table_stops_at_the_summary_line() -> None:
    [table] = parse_tables((DATA / "analytics_feed.txt").read_text())
    assert [r[:2] for r in table.rows] == [["SQLite", "direct"], ["SQLite", "feed"]]
    assert number(table.rows[0][4]) == 2367.2


def test_dash_delimited_table_with_a_title_line() -> None:
    [table] = parse_tables((DATA / "compositor.txt").read_text())
    assert table.title.startswith("720x1280 @ 30 fps")
    assert table.columns == ["guests", "compose CPU ms/frame", "% of a core", "with encode ms/frame", "% of a core"]
    assert [r[0] for r in table.rows] == ["2", "4", "9"] and number(table.rows[0][2]) == 3.4
    assert table.key_width() == 1  # every column is a number: the first one names the row


@pytest.mark.parametrize(("cell", "value"), [("1,044", 1044.0), ("0.27%", 0.27), ("44.9x", 44.9), ("-3.5", -3.5),
                                             ("1e3", 1000.0), ("", None), ("SQLite", None), ("n/a", None),
                                             ("10 ms", None), ("1.2.3", None)])
def test_number(cell: str, value: float | None) -> None:
    assert number(cell) == value


def test_text_without_tables_and_pipes_in_prose() -> None:
    assert parse_tables("") == []
    assert parse_tables("a | b\nno delimiter here\n| c | d |\n") == []
    # a row with another cell count ends the table
    [table] = parse_tables("| a | b |\n|:--|--:|\n| 1 | 2 |\n| 3 | 4 | 5 |\n")
    assert table.rows == [["1", "2"]]


def result(*tables: Table) -> dict[str, object]:
    return {"tables": [t.to_json() for t in tables]}


def test_rows_line_up_by_key_and_show_the_change() -> None:
    a = Table("t", ["store", "n", "ops/s"], [["memory", "10", "100"], ["redis", "10", "50"]])
    b = Table("t", ["store", "n", "ops/s"], [["redis", "10", "75"], ["memory", "10", "1,000"], ["pg", "10", "5"]])
    [(ta, tb)] = table_pairs(result(a), result(b))
    rows = table_rows(ta, tb)
    assert [key for key, _ in rows] == [("memory",), ("redis",), ("pg",)]
    memory, redis, pg = (changes[1] for _, changes in rows)
    assert (memory.a, memory.b, memory.percent) == (100, 1000, 900)
    assert redis.percent == 50 and (pg.a, pg.b) == (None, 5)


def test_tables_pair_by_title_and_header_or_stay_alone() -> None:
    x = Table("x", ["k", "v"], [["a", "1"]])
    y = Table("y", ["k", "w"], [["a", "2"]])
    z = Table("z", ["k", "u"], [["a", "3"]])
    pairs = table_pairs(result(x, y), result(y, z))
    assert [(p and p.title, q and q.title) for p, q in pairs] == [("x", None), ("y", "y"), (None, "z")]
