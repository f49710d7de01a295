"""The opening hall's pages and its event stream through Flask's test client: access, the page
without JavaScript, check-in and announcements by form, the SSE wire format, per-viewer filtering,
and resuming from Last-Event-ID without a missed event."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories.accounts import actor_ctx, csrf_token, login_as, make_user
from tests.factories.notices import notice_project, published_notice
from trading.core.events import publish
from trading.core.sse import format_event, requested_last_id
from trading.extensions import db
from trading.procedures.common.models import LotTrade
from trading.procedures.common.opening import hall
from trading.procedures.common.participation.services import register_for_lot


class SSEReader:
    """Reads a streaming response message by message (a message ends with a blank line)."""

    def __init__(self, response):
        self.response = response
        self.chunks = iter(response.response)
        self.buffer = ""

    def next(self) -> dict:
        while "\n\n" not in self.buffer:
            chunk = next(self.chunks)
            self.buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        raw, self.buffer = self.buffer.split("\n\n", 1)
        msg: dict = {"comments": []}
        for line in raw.split("\n"):
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "":
                msg["comments"].append(value)
            elif field == "data":
                msg["data"] = json.loads(value)
            else:
                msg[field] = value
        return msg

    def next_event(self) -> dict:
        """The next message that carries an event (skips retry lines and comments)."""
        while True:
            msg = self.next()
            if "event" in msg:
                return msg

    def rest(self) -> list[dict]:
        out = []
        try:
            while True:
                out.append(self.next())
        except StopIteration:
            return out

    def close(self):
        self.response.close()


@pytest.fixture
def world(app, ctx, session, clock):
    app.config.update(SSE_HEARTBEAT_SECONDS=0.2, SSE_MAX_SECONDS=3)
    owner = make_user(ctx, "owner")
    project = notice_project(ctx, owner, procedure="tender")
    published_notice(actor_ctx(session, clock, owner), project)
    trade = session.execute(select(LotTrade).where(LotTrade.project_id == project.id)).scalar_one()
    a, b, c = (make_user(ctx, "bidder") for _ in range(3))
    for bidder in (a, b):
        register_for_lot(actor_ctx(session, clock, bidder), trade.lot_code)
    operator = make_user(ctx, "operator", totp=True)
    w = dict(code=trade.lot_code, deadline=trade.deadline_at, owner=owner, a=a, b=b, c=c, operator=operator,
             a_name=a.organisation.name, b_name=b.organisation.name, clock=clock, session=session)
    session.commit()
    return w


def _stream(client, code, **headers):
    resp = client.get(f"/opening/{code}/stream", headers=headers, buffered=False)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return SSEReader(resp)


# --- pages -------------------------------------------------------------------------------------------

def test_anonymous_is_sent_to_log_in(client, world):
    resp = client.get(f"/opening/{world['code']}/hall")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    assert client.get(f"/opening/{world['code']}/stream").status_code == 302


@pytest.mark.parametrize("path", ["/hall", "/stream", "/hall/record"])
def test_unregistered_bidder_gets_404_like_an_unknown_lot(client, world, path):
    login_as(client, world["c"])
    assert client.get(f"/opening/{world['code']}{path}").status_code == 404
    assert client.get(f"/opening/SFX2026-GC-9999-01{path}").status_code == 404


def test_hall_before_deadline_shows_clock_countdown_and_no_counts(client, world):
    login_as(client, world["a"])
    page = client.get(f"/opening/{world['code']}/hall")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-hall-clock' in html and 'data-hall-countdown' in html and 'data-hall-conn' in html
    assert f'/opening/{world["code"]}/stream?last_id=' in html
    assert "js/hall.js" in html and "<script>" not in html  # no inline script (strict CSP)
    assert 'http-equiv="refresh"' in html                    # refreshes itself without JavaScript
    assert "data-hall-checkins" not in html and "checkin-button" not in html
    assert "签到在投标截止时间到达后开放" in html
    assert world["b_name"] not in html


@pytest.mark.parametrize("who", ["operator", "owner"])
def test_staff_see_no_count_before_the_deadline(client, world, who):
    login_as(client, world[who])
    html = client.get(f"/opening/{world['code']}/hall").get_data(as_text=True)
    assert "data-hall-checkins" not in html and world["a_name"] not in html and "报名" not in html


def test_check_in_by_form_after_the_deadline(client, world):
    world["clock"].set(world["deadline"] + timedelta(seconds=5))
    login_as(client, world["a"])
    html = client.get(f"/opening/{world['code']}/hall").get_data(as_text=True)
    assert 'data-testid="checkin-button"' in html
    token = csrf_token(client, f"/opening/{world['code']}/hall")
    resp = client.post(f"/opening/{world['code']}/checkin", data={"csrf_token": token}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'data-testid="checked-in"' in html
    assert 'data-testid="hall-checkins">1<' in html
    login_as(client, world["operator"])
    html = client.get(f"/opening/{world['code']}/hall").get_data(as_text=True)
    assert world["a_name"] in html and "2 家报名" in html


def test_check_in_before_the_deadline_is_refused_with_a_message(client, world):
    login_as(client, world["a"])
    token = csrf_token(client, f"/opening/{world['code']}/hall")
    resp = client.post(f"/opening/{world['code']}/checkin", data={"csrf_token": token}, follow_redirects=True)
    assert resp.status_code == 200 and "签到在投标截止时间到达后开放" in resp.get_data(as_text=True)


def test_check_in_needs_csrf(client, world):
    world["clock"].set(world["deadline"])
    login_as(client, world["a"])
    assert client.post(f"/opening/{world['code']}/checkin").status_code == 400


def test_operator_posts_an_announcement_others_cannot(client, world):
    login_as(client, world["operator"])
    token = csrf_token(client, f"/opening/{world['code']}/hall")
    resp = client.post(f"/opening/{world['code']}/messages", data={"csrf_token": token, "text": "请各投标人准时签到"},
                       follow_redirects=True)
    assert resp.status_code == 200 and "请各投标人准时签到" in resp.get_data(as_text=True)
    login_as(client, world["a"])
    html = client.get(f"/opening/{world['code']}/hall").get_data(as_text=True)
    assert "请各投标人准时签到" in html and "post-message" not in html
    token = csrf_token(client, f"/opening/{world['code']}/hall")
    assert client.post(f"/opening/{world['code']}/messages",
                       data={"csrf_token": token, "text": "x"}).status_code == 403


def test_index_lists_the_lot(client, world):
    login_as(client, world["operator"])
    html = client.get("/opening/").get_data(as_text=True)
    assert world["code"] in html and "进入开标大厅" in html
    login_as(client, world["c"])
    assert world["code"] not in client.get("/opening/").get_data(as_text=True)


# --- the stream ---------------------------------------------------------------------------------------

def test_wire_format():
    assert format_event({"a": "中"}, event="hall:message", id=7) == 'id: 7\nevent: hall:message\ndata: {"a":"中"}\n\n'
    assert format_event("x", retry=3000) == "retry: 3000\ndata: x\n\n"
    with pytest.raises(ValueError):
        format_event({}, event="a\nb")


@pytest.mark.parametrize("headers, query, expected", [
    ({}, "", 0), ({"Last-Event-ID": "42"}, "", 42), ({}, "?last_id=17", 17),
    ({"Last-Event-ID": "42"}, "?last_id=17", 42), ({"Last-Event-ID": "abc"}, "", 0), ({}, "?last_id=-5", 0),
])
def test_requested_last_id(app, headers, query, expected):
    with app.test_request_context("/x" + query, headers=headers):
        assert requested_last_id() == expected


def test_stream_headers_snapshot_then_live_deltas(client, world, app):
    code = world["code"]
    login_as(client, world["a"])
    reader = _stream(client, code)
    resp = reader.response
    assert resp.mimetype == "text/event-stream"
    assert "no-cache" in resp.headers["Cache-Control"] and resp.headers["X-Accel-Buffering"] == "no"
    first = reader.next()
    assert 3000 <= int(first["retry"]) < 7000  # jittered reconnect delay
    snap = reader.next_event()
    assert snap["event"] == "hall:state" and snap["data"]["lot_code"] == code
    assert snap["data"]["checkin"]["count"] is None and snap["data"]["me"]["registered"] is True
    assert int(snap["id"]) == snap["data"]["last_event_id"]
    # an announcement commits while the stream is open: it arrives, with its id and the server time
    op_ctx = actor_ctx(world["session"], world["clock"], world["operator"])
    eid = hall.post_message(op_ctx, code, "开标即将开始")
    db.session.commit()
    ev = reader.next_event()
    assert (ev["event"], int(ev["id"]), ev["data"]["text"]) == ("hall:message", eid, "开标即将开始")
    assert ev["data"]["server_now"] == world["clock"].now().isoformat()
    reader.close()


def test_stream_filters_by_audience(client, world):
    code = world["code"]
    world["clock"].set(world["deadline"] + timedelta(seconds=1))
    ch = hall.channel_of(code)
    sys_ctx = actor_ctx(world["session"], world["clock"], world["operator"])
    base = publish(sys_ctx, ch, "hall:message", {"text": "base"})
    publish(sys_ctx, ch, "hall:attendee", {"bidder": "X"}, audience="staff")
    publish(sys_ctx, ch, "note", {"to": "a"}, audience=f"org:{world['a'].org_id}")
    publish(sys_ctx, ch, "note", {"to": "b"}, audience=f"org:{world['b'].org_id}")
    last = publish(sys_ctx, ch, "hall:checkin", {"count": 0})
    db.session.commit()

    def names_for(user):
        login_as(client, user)
        reader = _stream(client, code, **{"Last-Event-ID": str(base)})
        got = []
        while True:
            ev = reader.next_event()
            if ev["event"] == "hall:state":
                break
            got.append((ev["event"], ev["data"].get("to")))
        reader.close()
        return got

    assert names_for(world["a"]) == [("note", "a"), ("hall:checkin", None)]
    assert names_for(world["b"]) == [("note", "b"), ("hall:checkin", None)]
    assert names_for(world["operator"]) == [("hall:attendee", None), ("hall:checkin", None)]
    assert names_for(world["owner"]) == [("hall:attendee", None), ("hall:checkin", None)]
    assert last > base


def test_resume_from_last_event_id_misses_nothing(client, world):
    code = world["code"]
    op_ctx = actor_ctx(world["session"], world["clock"], world["operator"])
    first = hall.post_message(op_ctx, code, "一")
    db.session.commit()
    login_as(client, world["b"])
    reader = _stream(client, code)
    snap = reader.next_event()
    assert int(snap["id"]) == first
    reader.close()  # the connection drops; meanwhile two announcements commit
    second = hall.post_message(op_ctx, code, "二")
    third = hall.post_message(op_ctx, code, "三")
    db.session.commit()
    login_as(client, world["b"])
    reader = _stream(client, code, **{"Last-Event-ID": str(first)})
    replay = [reader.next_event() for _ in range(3)]
    assert [(e["event"], int(e["id"])) for e in replay] == [
        ("hall:message", second), ("hall:message", third), ("hall:state", third)]
    assert [e["data"]["text"] for e in replay[:2]] == ["二", "三"]
    reader.close()
    # ?last_id= (the page's snapshot id) works the same for the first connection
    resp = client.get(f"/opening/{code}/stream?last_id={second}", buffered=False)
    reader = SSEReader(resp)
    assert int(reader.next_event()["id"]) == third
    reader.close()


def test_heartbeat_tick_and_end_of_stream(client, world, app):
    app.config.update(SSE_HEARTBEAT_SECONDS=0.05, SSE_MAX_SECONDS=0.3)
    login_as(client, world["a"])
    reader = _stream(client, world["code"])
    messages = reader.rest()  # the server ends the stream after SSE_MAX_SECONDS
    comments = [c for m in messages for c in m["comments"]]
    assert "keep-alive" in comments and any(c.startswith("bye") for c in comments)
    ticks = [m for m in messages if m.get("event") == "tick"]
    assert ticks and all("id" not in t for t in ticks)  # ticks do not move Last-Event-ID
    assert ticks[0]["data"]["server_now"] == world["clock"].now().isoformat()


def test_stream_ends_at_the_deadline_so_clients_take_the_new_snapshot(client, world, app):
    app.config.update(SSE_HEARTBEAT_SECONDS=0.05, SSE_MAX_SECONDS=60)
    world["clock"].set(world["deadline"] - timedelta(seconds=0.5))
    login_as(client, world["a"])
    messages = _stream(client, world["code"]).rest()  # capped at ~1 s from the deadline, not 60 s
    assert any(c.startswith("bye") for m in messages for c in m["comments"])
