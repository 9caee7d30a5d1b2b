"""Webhook notices: bodies per provider (exact), config parsing, masking, and
sending with retries against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from lain_cli import notify
from lain_cli.errors import ConfigError
from lain_cli.notify import Event, Webhook
from tests.webhook_receiver import WebhookReceiver, closed_port

ENV_CHANGE = Event(
    kind="env-change",
    app="dummy",
    cluster="dev",
    user="alice",
    keys_added=("A", "B"),
    keys_removed=("C",),
    keys_changed=("D",),
)
DEPLOYED = Event(
    kind="deploy-success",
    app="dummy",
    cluster="prod",
    user="bob",
    old_image="r/dummy:1",
    new_image="r/dummy:2",
    duration=75,
    git_log=("abc fix <bug>", "def add x"),
)
MESSAGE = Event(kind="message", app="dummy", cluster="dev", user="alice", text="deploying soon")


@pytest.fixture(autouse=True)
def outbox(monkeypatch: pytest.MonkeyPatch) -> notify.Outbox:
    """A fresh outbox per test: each test is one run of lain."""
    box = notify.Outbox()
    monkeypatch.setattr(notify, "OUTBOX", box)
    return box


@pytest.fixture
def receiver() -> Any:
    with WebhookReceiver() as server:
        yield server


def test_slack_bodies() -> None:
    assert notify.build_body("slack", ENV_CHANGE) == {
        "text": "alice changed env of dummy on dev\nadded: A, B\nremoved: C\nchanged: D",
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*alice changed env of dummy on dev*"},
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "added: A, B\nremoved: C\nchanged: D"},
            },
        ],
    }
    assert notify.build_body("slack", DEPLOYED) == {
        "text": "bob deployed dummy on prod\nimage: r/dummy:1 -&gt; r/dummy:2\nduration: 1m15s\n"
        "git log:\n  abc fix &lt;bug&gt;\n  def add x",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*bob deployed dummy on prod*"}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "image: r/dummy:1 -&gt; r/dummy:2\nduration: 1m15s",
                },
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "```abc fix &lt;bug&gt;\ndef add x```"},
            },
        ],
    }
    assert notify.build_body("slack", MESSAGE) == {"text": "[dummy dev] alice: deploying soon"}


def test_feishu_bodies() -> None:
    assert notify.build_body("feishu", ENV_CHANGE) == {
        "msg_type": "post",
        "content": {
            "post": {
                "zh_cn": {
                    "title": "alice changed env of dummy on dev",
                    "content": [
                        [{"tag": "text", "text": "added: A, B"}],
                        [{"tag": "text", "text": "removed: C"}],
                        [{"tag": "text", "text": "changed: D"}],
                    ],
                }
            }
        },
    }
    assert notify.build_body("feishu", MESSAGE) == {
        "msg_type": "text",
        "content": {"text": "[dummy dev] alice: deploying soon"},
    }


def test_dingtalk_bodies() -> None:
    assert notify.build_body("dingtalk", ENV_CHANGE) == {
        "msgtype": "markdown",
        "markdown": {
            "title": "alice changed env of dummy on dev",
            "text": "### alice changed env of dummy on dev\n\n- added: A, B\n- removed: C\n- changed: D",
        },
    }
    assert notify.build_body("dingtalk", DEPLOYED) == {
        "msgtype": "markdown",
        "markdown": {
            "title": "bob deployed dummy on prod",
            "text": "### bob deployed dummy on prod\n\n- image: r/dummy:1 -> r/dummy:2\n- duration: 1m15s"
            "\n\ngit log:\n- abc fix <bug>\n- def add x",
        },
    }


def test_wecom_bodies() -> None:
    assert notify.build_body("wecom", ENV_CHANGE) == {
        "msgtype": "markdown",
        "markdown": {
            "content": "**alice changed env of dummy on dev**\n\n- added: A, B\n- removed: C\n- changed: D"
        },
    }
    assert notify.build_body("wecom", MESSAGE) == {
        "msgtype": "markdown",
        "markdown": {"content": "**message from alice about dummy on dev**\n\ndeploying soon"},
    }


def test_generic_body_is_the_event() -> None:
    assert notify.build_body("generic", ENV_CHANGE) == {
        "kind": "env-change",
        "app": "dummy",
        "cluster": "dev",
        "user": "alice",
        "text": "",
        "keys_added": ["A", "B"],
        "keys_removed": ["C"],
        "keys_changed": ["D"],
        "old_image": None,
        "new_image": None,
        "git_log": [],
        "duration": None,
        "details": [],
        "link": None,
        "title": "alice changed env of dummy on dev",
    }


@pytest.mark.parametrize("kind", notify.EVENT_KINDS)
@pytest.mark.parametrize("provider", notify.PROVIDERS)
def test_every_provider_builds_every_kind(provider: str, kind: str) -> None:
    event = Event(kind=kind, app="a", cluster="c", user="u", text="t")  # type: ignore[arg-type]
    assert notify.build_body(provider, event)


def test_unknown_event_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        Event(kind="party", app="a", cluster="c", user="u")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (59.6, "1m00s"), (75, "1m15s"), (3600 + 120, "1h02m")]
)
def test_format_duration(seconds: float, text: str) -> None:
    assert notify.format_duration(seconds) == text


@pytest.mark.parametrize(
    ("url", "provider"),
    [
        ("https://hooks.slack.com/services/T0/B0/xyz", "slack"),
        ("https://open.feishu.cn/open-apis/bot/v2/hook/abc", "feishu"),
        ("https://open.larksuite.com/open-apis/bot/v2/hook/abc", "feishu"),
        ("https://oapi.dingtalk.com/robot/send?access_token=x", "dingtalk"),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x", "wecom"),
        ("https://hooks.example.com/x", "generic"),
    ],
)
def test_provider_inferred_from_host(url: str, provider: str) -> None:
    assert notify.parse_webhook({"url": url}).provider == provider


def test_parse_webhook_explicit_provider_alias_and_clusters() -> None:
    hook = notify.parse_webhook(
        {"url": "https://x.example/h", "provider": "Lark", "clusters": ["prod"]}
    )
    assert hook == Webhook(url="https://x.example/h", provider="feishu", clusters=("prod",))
    assert hook.applies_to("prod") and not hook.applies_to("dev")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "webhook.url: url is missing"),
        ({"url": "ftp://x"}, "webhook.url: url must start with http:// or https://"),
        ({"url": "https://x", "provider": "teams"}, "webhook.provider: unknown provider 'teams'"),
        ({"url": "https://x", "clusters": "dev"}, None),
        ({"url": "https://x", "clusters": [1]}, "webhook.clusters: clusters must be a list"),
        ({"url": "https://x", "timeout": 0}, "webhook.timeout: timeout must be a positive number"),
        (["https://x"], "webhook: expected a mapping"),
    ],
)
def test_parse_webhook_errors(config: Any, message: str | None) -> None:
    if message is None:
        assert notify.parse_webhook(config).clusters == ("dev",)
        return
    with pytest.raises(ConfigError) as info:
        notify.parse_webhook(config)
    assert info.value.message.startswith(message)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "https://hooks.slack.com/services/T0123ABC/B0456DEF/xyzXYZ123abcABC456",
            "https://hooks.slack.com/services/***/***/***",
        ),
        (
            "https://open.feishu.cn/open-apis/bot/v2/hook/c057c484-9fd9-4ed9-83db-63e4b271de76",
            "https://open.feishu.cn/open-apis/bot/v2/hook/***",
        ),
        (
            "https://oapi.dingtalk.com/robot/send?access_token=abcdef0123456789",
            "https://oapi.dingtalk.com/robot/send?access_token=***",
        ),
        (
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7aaa",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***",
        ),
        ("https://bot:pw12345@example.com:8443/hook", "https://example.com:8443/hook"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert notify.mask_url(url) == masked


def test_scrub_masks_tokens_inside_error_text() -> None:
    url = "https://oapi.dingtalk.com/robot/send?access_token=abcdef0123456789"
    text = "Max retries exceeded with url: /robot/send?access_token=abcdef0123456789 (refused)"
    assert (
        notify.scrub(text, url)
        == "Max retries exceeded with url: /robot/send?access_token=*** (refused)"
    )


def test_webhook_for_prefers_the_app_and_honours_its_clusters() -> None:
    cluster = SimpleNamespace(name="dev", webhook={"url": "https://hooks.slack.com/services/a/b/c"})
    assert notify.webhook_for({}, cluster) == Webhook(
        "https://hooks.slack.com/services/a/b/c", "slack"
    )
    app = {
        "webhook": {"url": "https://open.feishu.cn/open-apis/bot/v2/hook/x", "clusters": ["dev"]}
    }
    assert notify.webhook_for(app, cluster).provider == "feishu"  # type: ignore[union-attr]
    only_prod = {
        "webhook": {"url": "https://open.feishu.cn/open-apis/bot/v2/hook/x", "clusters": ["prod"]}
    }
    assert notify.webhook_for(only_prod, cluster) is None
    assert notify.webhook_for({}, SimpleNamespace(name="dev", webhook=None)) is None


def test_webhook_for_reads_a_parsed_cluster_webhook_object() -> None:
    parsed = SimpleNamespace(
        url="https://h.example/x", provider="wecom", clusters=None, timeout=None
    )
    assert notify.webhook_for(None, SimpleNamespace(name="dev", webhook=parsed)) == Webhook(
        "https://h.example/x", "wecom"
    )


def test_send_delivers_the_provider_body(receiver: WebhookReceiver) -> None:
    hook = Webhook(receiver.url("/services/T1/B2/xoxTOKEN42"), "slack")
    assert notify.send(hook, ENV_CHANGE, total_timeout=5) is True
    assert len(receiver.requests) == 1
    assert receiver.requests[0].path == "/services/T1/B2/xoxTOKEN42"
    assert receiver.requests[0].headers["Content-Type"] == "application/json"
    assert receiver.requests[0].json == notify.build_body("slack", ENV_CHANGE)


def test_500_twice_then_200_delivers_exactly_once(receiver: WebhookReceiver, capsys: Any) -> None:
    receiver.fail_next(2, status=500)
    hook = Webhook(receiver.url(), "generic")
    assert notify.send(hook, MESSAGE, total_timeout=10, backoff=0.05) is True
    assert [r.status for r in receiver.requests] == [500, 500, 200]
    assert len(receiver.delivered) == 1
    assert receiver.delivered[0].json == MESSAGE.as_dict()
    assert "warning" not in capsys.readouterr().err


def test_429_is_retried_honouring_retry_after(receiver: WebhookReceiver) -> None:
    receiver.fail_next(1, status=429)
    hook = Webhook(receiver.url(), "generic")
    assert notify.send(hook, MESSAGE, total_timeout=5, backoff=0.01) is True
    assert [r.status for r in receiver.requests] == [429, 200]


def test_4xx_is_not_retried(receiver: WebhookReceiver, capsys: Any) -> None:
    receiver.respond_with(404, b"no_service")
    hook = Webhook(receiver.url("/services/T1/B2/xoxTOKEN42"), "slack")
    assert notify.send(hook, MESSAGE, total_timeout=5) is False
    assert len(receiver.requests) == 1
    err = capsys.readouterr().err
    assert "Slack webhook" in err and "HTTP 404: no_service" in err
    assert "xoxTOKEN42" not in err


def test_webhook_down_warns_and_returns_false_within_the_bound(capsys: Any) -> None:
    url = f"http://127.0.0.1:{closed_port()}/robot/send?access_token=sekrit-token-1234"
    hook = Webhook(url, "dingtalk")
    started = time.monotonic()
    assert notify.send(hook, ENV_CHANGE, total_timeout=1.0, backoff=0.05) is False
    took = time.monotonic() - started
    assert 0.5 < took < 2.0
    err = capsys.readouterr().err
    [warning] = [line for line in err.splitlines() if "warning:" in line]
    assert "1 notice did not reach the DingTalk webhook" in warning
    assert "env changed (connection refused, after " in warning  # refused before sending: retried
    assert "access_token=***" in warning
    assert "sekrit-token-1234" not in err


def test_unanswered_requests_are_not_sent_twice(capsys: Any) -> None:
    import socket

    # a listening socket that never accepts: connects succeed, answers never come
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        hook = Webhook(f"http://127.0.0.1:{sock.getsockname()[1]}/hook", "generic")
        started = time.monotonic()
        assert notify.send(hook, MESSAGE, total_timeout=1.5, request_timeout=0.5) is False
        assert time.monotonic() - started < 2.5
    # issue 16: it said "no answer within 0.199754s", the budget left, not the timeout
    assert "message (no answer within 1.5s)" in capsys.readouterr().err


def test_a_slow_chat_server_gets_each_notice_once(receiver: WebhookReceiver, capsys: Any) -> None:
    # issue 16: a hanging endpoint was tried 4 times, so a slow server showed the notice 4 times
    receiver.answer_after(1.2)
    hook = Webhook(receiver.url(), "generic")
    assert notify.send(hook, ENV_CHANGE, total_timeout=3) is True
    assert len(receiver.requests) == 1
    receiver.answer_after(10)
    started = time.monotonic()
    assert notify.send(hook, ENV_CHANGE, total_timeout=1) is False
    assert time.monotonic() - started < 1.6
    assert len(receiver.requests) == 2  # one more, not retried
    assert "env changed (no answer within 1s)" in capsys.readouterr().err


def test_a_dropped_connection_after_the_body_is_not_retried(receiver: WebhookReceiver, capsys: Any) -> None:
    receiver.hang_up_next(1)
    assert notify.send(Webhook(receiver.url(), "generic"), MESSAGE, total_timeout=3) is False
    assert len(receiver.requests) == 1  # the provider may have taken it: no second copy
    assert "connection closed without an answer" in capsys.readouterr().err


def test_500s_are_retried_with_backoff_within_the_timeout(receiver: WebhookReceiver, capsys: Any) -> None:
    receiver.respond_with(500, b"down")
    started = time.monotonic()
    assert notify.send(Webhook(receiver.url(), "generic"), MESSAGE, total_timeout=2, backoff=0.1) is False
    assert time.monotonic() - started < 2.3
    assert 2 <= len(receiver.requests) <= 6
    err = capsys.readouterr().err
    assert len([line for line in err.splitlines() if "warning:" in line]) == 1
    assert f"message (HTTP 500: down, after {len(receiver.requests)} attempts)" in err


def test_a_retry_after_past_the_timeout_stops_at_once(receiver: WebhookReceiver, capsys: Any) -> None:
    receiver.fail_next(1, status=429)
    started = time.monotonic()
    with _retry_after(receiver, "30"):
        assert notify.send(Webhook(receiver.url(), "generic"), MESSAGE, total_timeout=3) is False
    assert time.monotonic() - started < 1
    assert len(receiver.requests) == 1
    assert "asked to retry after 30s, past the 3s timeout" in capsys.readouterr().err


class _retry_after:
    """Make the receiver's failures carry a Retry-After header."""

    def __init__(self, receiver: WebhookReceiver, value: str) -> None:
        self.receiver = receiver
        self.value = value

    def __enter__(self) -> None:
        import http.server

        self.original = http.server.BaseHTTPRequestHandler.end_headers
        value = self.value

        def end_headers(handler: Any) -> None:
            handler.send_header("Retry-After", value)
            self.original(handler)

        http.server.BaseHTTPRequestHandler.end_headers = end_headers  # type: ignore[method-assign]

    def __exit__(self, *exc: object) -> None:
        import http.server

        http.server.BaseHTTPRequestHandler.end_headers = self.original  # type: ignore[method-assign]


def test_a_line_on_screen_while_waiting(receiver: WebhookReceiver, capsys: Any) -> None:
    receiver.answer_after(0.8)
    assert notify.send(Webhook(receiver.url("/services/T1/B2/xoxTOKEN42"), "slack"), DEPLOYED,
                       total_timeout=3) is True
    err = capsys.readouterr().err
    assert "waiting for the Slack webhook http://127.0.0.1:" in err
    assert "/services/***/***/*** to take the notice (at most " in err
    assert "xoxTOKEN42" not in err
    receiver.answer_after(0)
    assert notify.send(Webhook(receiver.url(), "slack"), DEPLOYED, total_timeout=3) is True
    assert capsys.readouterr().err == ""  # a quick answer: nothing to say


def test_background_notices_are_reported_in_one_line_by_settle(receiver: WebhookReceiver, capsys: Any) -> None:
    import threading

    receiver.respond_with(404, b"no_service")
    started = Event(kind="deploy-start", app="dummy", cluster="prod", user="bob")
    threads = [threading.Thread(target=notify.send, args=(Webhook(receiver.url(), "generic"), event),
                                kwargs={"total_timeout": 3}) for event in (started, DEPLOYED)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert capsys.readouterr().err == ""  # not from the background: at the end, in one line
    failed = notify.settle()
    assert {d.event.kind for d in failed} == {"deploy-start", "deploy-success"}
    [line] = capsys.readouterr().err.splitlines()
    assert "warning: 2 notices did not reach the generic JSON webhook" in line
    assert "deploy started (HTTP 404: no_service)" in line and "deployed (HTTP 404: no_service)" in line
    assert notify.settle() == []  # forgotten once reported


def test_settle_waits_for_a_notice_on_its_way_and_says_so(receiver: WebhookReceiver, capsys: Any) -> None:
    import threading

    receiver.answer_after(10)
    thread = threading.Thread(target=notify.send, args=(Webhook(receiver.url(), "generic"), ENV_CHANGE),
                              kwargs={"total_timeout": 1.5}, daemon=True)
    thread.start()
    started = time.monotonic()
    failed = notify.settle()
    assert 1.0 < time.monotonic() - started < 2.0
    assert [d.event.kind for d in failed] == ["env-change"]
    err = capsys.readouterr().err
    assert err.count("waiting for the generic JSON webhook") == 1
    assert "env changed (no answer within 1.5s)" in err


def test_the_default_is_5s_and_the_cluster_notify_timeout_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(notify.TIMEOUT_ENV, raising=False)
    assert notify.default_total_timeout() == 5
    cluster = SimpleNamespace(name="dev", webhook={"url": "https://h.example/x"}, notify_timeout=2)
    assert notify.webhook_for({}, cluster).timeout == 2  # type: ignore[union-attr]
    own = SimpleNamespace(name="dev", webhook={"url": "https://h.example/x", "timeout": 7}, notify_timeout=2)
    assert notify.webhook_for({}, own).timeout == 7  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("provider", "answer", "reason"),
    [
        (
            "feishu",
            {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"},
            "Feishu error 19001",
        ),
        ("feishu", {"StatusCode": 1, "StatusMessage": "bad"}, "Feishu error 1: bad"),
        (
            "dingtalk",
            {"errcode": 310000, "errmsg": "keywords not in content"},
            "DingTalk error 310000",
        ),
        ("wecom", {"errcode": 93000, "errmsg": "invalid webhook url"}, "WeCom error 93000"),
    ],
)
def test_provider_error_in_a_200_body_is_a_failure(
    receiver: WebhookReceiver, capsys: Any, provider: str, answer: dict[str, Any], reason: str
) -> None:
    receiver.respond_with(200, answer)
    assert notify.send(Webhook(receiver.url(), provider), ENV_CHANGE, total_timeout=5) is False
    assert len(receiver.requests) == 1  # not retried: it would fail the same way
    assert reason in capsys.readouterr().err


def test_provider_success_codes_are_success(receiver: WebhookReceiver) -> None:
    receiver.respond_with(200, {"code": 0, "msg": "success"})
    assert notify.send(Webhook(receiver.url(), "feishu"), ENV_CHANGE, total_timeout=5) is True
    receiver.respond_with(200, {"errcode": 0, "errmsg": "ok"})
    assert notify.send(Webhook(receiver.url(), "dingtalk"), ENV_CHANGE, total_timeout=5) is True


def test_provider_rate_limit_is_retried(receiver: WebhookReceiver) -> None:
    receiver.respond_with(200, {"errcode": 130101, "errmsg": "send too fast"})
    hook = Webhook(receiver.url(), "dingtalk")
    assert notify.send(hook, ENV_CHANGE, total_timeout=0.8, backoff=0.05) is False
    assert len(receiver.requests) >= 2


def test_timeout_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(notify.TIMEOUT_ENV, "2.5")
    assert notify.default_total_timeout() == 2.5
    monkeypatch.setenv(notify.TIMEOUT_ENV, "soon")
    assert notify.default_total_timeout() == notify.DEFAULT_TOTAL_TIMEOUT


def test_send_event_resolves_the_webhook_from_the_context(receiver: WebhookReceiver) -> None:
    ctx = SimpleNamespace(
        values={"webhook": {"url": receiver.url("/app"), "provider": "wecom"}},
        cluster=SimpleNamespace(name="dev", webhook={"url": receiver.url("/cluster")}),
    )
    assert notify.send_event(ctx, ENV_CHANGE, total_timeout=5) is True
    assert [r.path for r in receiver.requests] == ["/app"]
    assert receiver.requests[0].json["msgtype"] == "markdown"


def test_send_event_without_webhook_says_so_once(capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(notify, "_told_no_webhook", set())
    ctx = SimpleNamespace(values={}, cluster=SimpleNamespace(name="dev", webhook=None))
    assert notify.send_event(ctx, ENV_CHANGE) is False
    assert notify.send_event(ctx, ENV_CHANGE) is False
    assert capsys.readouterr().err.count("no webhook configured for dummy on dev") == 1


def test_send_event_with_broken_config_warns(capsys: Any) -> None:
    ctx = SimpleNamespace(
        values={"webhook": {"provider": "slack"}}, cluster=SimpleNamespace(name="dev")
    )
    assert notify.send_event(ctx, ENV_CHANGE) is False
    assert "warning: no notice sent: webhook.url: url is missing" in capsys.readouterr().err
