"""Webhook notices: one event, a message body per provider, sent with retries.

An :class:`Event` says what happened (a deploy started, env keys changed, a
message from ``lain send-msg``); ``build_body`` turns it into the JSON body a
provider expects (pure functions, tested exactly); ``send`` posts it with
retries that cannot post it twice, bounded in time (5 s by default).  A
notice is never worth failing a command for: ``send`` returns False instead
of raising.  Every notice of a run goes through the :data:`OUTBOX`, which
prints one line while lain waits for a webhook and one warning line naming
the notices that did not arrive; ``settle()``, called by lain's entry point
when a command ends, waits (bounded) for those still on their way.  Webhook URLs carry
their secret in the path or query string, so every message about a webhook
shows the URL masked (see :func:`mask_url`).

``send_event(ctx, event)`` is what commands call: it finds the webhook for the
app and cluster of an AppContext (the app's ``webhook`` values win over the
cluster's) and sends the event there.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlsplit

from lain_cli.errors import ConfigError

if TYPE_CHECKING:
    import requests

EventKind = Literal[
    "deploy-start",
    "deploy-success",
    "deploy-failure",
    "rollback",
    "uninstall",
    "uninstall-failure",
    "restart-start",
    "restart",
    "restart-failure",
    "job",
    "env-change",
    "secret-change",
    "message",
]
EVENT_KINDS: tuple[str, ...] = EventKind.__args__  # type: ignore[attr-defined]

PROVIDERS = ("slack", "feishu", "dingtalk", "wecom", "generic")
_PROVIDER_NAMES = {
    "slack": "Slack",
    "feishu": "Feishu",
    "dingtalk": "DingTalk",
    "wecom": "WeCom",
    "generic": "generic JSON",
}
_PROVIDER_ALIASES = {"lark": "feishu", "wechat": "wecom", "weixin": "wecom", "json": "generic"}
_PROVIDER_HOSTS = {
    "hooks.slack.com": "slack",
    "open.feishu.cn": "feishu",
    "open.larksuite.com": "feishu",
    "oapi.dingtalk.com": "dingtalk",
    "qyapi.weixin.qq.com": "wecom",
}

DEFAULT_TOTAL_TIMEOUT = 5.0  # seconds, retries included (cluster file: notify.timeout)
DEFAULT_REQUEST_TIMEOUT = 2.0  # seconds to connect, per attempt
TIMEOUT_ENV = "LAIN_WEBHOOK_TIMEOUT"

# Provider error codes that mean "too many messages, try later": retried like a 429.
_RATE_LIMIT_CODES = {9499, 11232, 130101, 45009}


@dataclass(frozen=True)
class Event:
    """Something worth telling the team about.  Never holds secret values."""

    kind: EventKind
    app: str
    cluster: str
    user: str
    text: str = ""
    keys_added: tuple[str, ...] = ()
    keys_removed: tuple[str, ...] = ()
    keys_changed: tuple[str, ...] = ()
    old_image: str | None = None
    new_image: str | None = None
    git_log: tuple[str, ...] = ()
    duration: float | None = None
    details: tuple[str, ...] = ()
    link: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")

    def as_dict(self) -> dict[str, Any]:
        """The event as plain JSON types, with its title (the generic provider's body)."""
        data = asdict(self)
        for name in ("keys_added", "keys_removed", "keys_changed", "git_log", "details"):
            data[name] = list(data[name])
        data["title"] = event_title(self)
        return data


def format_duration(seconds: float) -> str:
    seconds = round(seconds)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def event_title(event: Event) -> str:
    """One line saying what happened, who did it, to which app and cluster."""
    where = f"{event.app} on {event.cluster}"
    titles = {
        "deploy-start": f"{event.user} is deploying {where}",
        "deploy-success": f"{event.user} deployed {where}",
        "deploy-failure": f"deploy of {where} by {event.user} failed",
        "rollback": f"{event.user} rolled back {where}",
        "uninstall": f"{event.user} uninstalled {where}",
        "uninstall-failure": f"uninstall of {where} by {event.user} failed",
        "restart-start": f"{event.user} is restarting {where}",
        "restart": f"{event.user} restarted {where}",
        "restart-failure": f"restart of {where} by {event.user} failed",
        "job": f"{event.user} ran a job on {where}",
        "env-change": f"{event.user} changed env of {where}",
        "secret-change": f"{event.user} changed secret files of {where}",
        "message": f"message from {event.user} about {where}",
    }
    return titles[event.kind]


def event_fields(event: Event) -> list[str]:
    """The facts of an event as ``label: value`` lines (keys, image, duration, details, link)."""
    lines: list[str] = []
    for label, keys in (
        ("added", event.keys_added),
        ("removed", event.keys_removed),
        ("changed", event.keys_changed),
    ):
        if keys:
            lines.append(f"{label}: {', '.join(keys)}")
    if event.old_image or event.new_image:
        lines.append(f"image: {event.old_image or '(none)'} -> {event.new_image or '(none)'}")
    if event.duration is not None:
        lines.append(f"duration: {format_duration(event.duration)}")
    lines += event.details
    if event.link:
        lines.append(event.link)
    return lines


def event_lines(event: Event) -> list[str]:
    """The body of a notice as plain lines (after the title): text, facts, git log."""
    lines = event.text.splitlines() + event_fields(event)
    if event.git_log:
        lines.append("git log:")
        lines += [f"  {entry}" for entry in event.git_log]
    return lines


def plain_text(event: Event) -> str:
    return "\n".join([event_title(event), *event_lines(event)])


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(event: Event) -> dict[str, Any]:
    """Slack incoming webhook: ``text`` (used by notifications) plus mrkdwn blocks."""
    if event.kind == "message":
        return {"text": _slack_escape(f"[{event.app} {event.cluster}] {event.user}: {event.text}")}
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*{_slack_escape(event_title(event))}*"},
        }
    ]
    body_lines = event.text.splitlines() + event_fields(event)
    if body_lines:
        text = "\n".join(_slack_escape(line) for line in body_lines)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    if event.git_log:
        log = "\n".join(_slack_escape(entry) for entry in event.git_log)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"```{log}```"}})
    return {"text": _slack_escape(plain_text(event)), "blocks": blocks}


def feishu_body(event: Event) -> dict[str, Any]:
    """Feishu/Lark custom bot: plain text for messages, a rich "post" otherwise."""
    if event.kind == "message":
        return {
            "msg_type": "text",
            "content": {"text": f"[{event.app} {event.cluster}] {event.user}: {event.text}"},
        }
    content = [[{"tag": "text", "text": line}] for line in event_lines(event)]
    return {
        "msg_type": "post",
        "content": {"post": {"zh_cn": {"title": event_title(event), "content": content}}},
    }


def _markdown_lines(event: Event) -> list[str]:
    """Text as paragraphs, facts as a list, then the git log as a list under a heading."""
    lines = event.text.splitlines()
    fields = event_fields(event)
    if lines and fields:
        lines.append("")
    lines += [f"- {line}" for line in fields]
    if event.git_log:
        lines += ["", "git log:", *[f"- {entry}" for entry in event.git_log]]
    return lines


def dingtalk_body(event: Event) -> dict[str, Any]:
    """DingTalk custom robot, markdown message (its title shows in the chat list)."""
    title = event_title(event)
    text = "\n".join([f"### {title}", "", *_markdown_lines(event)])
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}


def wecom_body(event: Event) -> dict[str, Any]:
    """WeCom (WeChat Work) group robot, markdown message."""
    content = "\n".join([f"**{event_title(event)}**", "", *_markdown_lines(event)])
    return {"msgtype": "markdown", "markdown": {"content": content}}


def generic_body(event: Event) -> dict[str, Any]:
    return event.as_dict()


_BUILDERS = {
    "slack": slack_body,
    "feishu": feishu_body,
    "dingtalk": dingtalk_body,
    "wecom": wecom_body,
    "generic": generic_body,
}


def build_body(provider: str, event: Event) -> dict[str, Any]:
    """The JSON body ``provider`` expects for ``event``."""
    return _BUILDERS[provider](event)


@dataclass(frozen=True)
class Webhook:
    url: str
    provider: str
    clusters: tuple[str, ...] | None = None
    timeout: float | None = None

    @property
    def provider_name(self) -> str:
        return _PROVIDER_NAMES[self.provider]

    def applies_to(self, cluster: str) -> bool:
        return self.clusters is None or cluster in self.clusters


def infer_provider(url: str) -> str:
    """The provider a webhook URL belongs to, from its host; ``generic`` if unknown."""
    host = (urlsplit(url).hostname or "").lower()
    return _PROVIDER_HOSTS.get(host, "generic")


def parse_webhook(config: Any, source: str = "webhook") -> Webhook:
    """A :class:`Webhook` from ``{url, provider?, clusters?, timeout?}``.

    ``source`` names where the config came from, for error messages.
    """
    if isinstance(config, str):
        config = {"url": config}
    if not isinstance(config, Mapping):
        raise ConfigError(
            "expected a mapping with url (and optionally provider, clusters)", key_path=source
        )
    url = config.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("url is missing", key_path=f"{source}.url")
    url = url.strip()
    if urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError(
            f"url must start with http:// or https://, not {mask_url(url)}",
            key_path=f"{source}.url",
        )
    provider = config.get("provider")
    if provider is None or provider == "":
        provider = infer_provider(url)
    elif not isinstance(provider, str):
        raise ConfigError("provider must be a string", key_path=f"{source}.provider")
    else:
        provider = _PROVIDER_ALIASES.get(provider.lower(), provider.lower())
        if provider not in PROVIDERS:
            raise ConfigError(
                f"unknown provider {config['provider']!r}",
                key_path=f"{source}.provider",
                hint=f"use one of: {', '.join(PROVIDERS)}",
            )
    clusters = config.get("clusters")
    if clusters is not None:
        if isinstance(clusters, str):
            clusters = [clusters]
        if not isinstance(clusters, list) or not all(isinstance(c, str) for c in clusters):
            raise ConfigError(
                "clusters must be a list of cluster names", key_path=f"{source}.clusters"
            )
        clusters = tuple(clusters)
    timeout = config.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        raise ConfigError(
            "timeout must be a positive number of seconds", key_path=f"{source}.timeout"
        )
    return Webhook(url=url, provider=provider, clusters=clusters, timeout=timeout)


_PLAIN_SEGMENT = re.compile(r"[a-z][a-z_-]{0,11}|v\d{1,2}")


def _secret_parts(url: str) -> list[str]:
    """The parts of ``url`` that may be credentials: tokens in the path, query values, userinfo."""
    parts = urlsplit(url)
    found = [seg for seg in parts.path.split("/") if seg and not _PLAIN_SEGMENT.fullmatch(seg)]
    found += [value for _, value in parse_qsl(parts.query, keep_blank_values=True) if value]
    if parts.password:
        found.append(parts.password)
    if parts.username:
        found.append(parts.username)
    # longest first, so a token is masked before any shorter token inside it; very short
    # values ("1", "on") are not credentials and masking them would garble messages
    return sorted({part for part in found if len(part) >= 4}, key=len, reverse=True)


def mask_url(url: str) -> str:
    """``url`` with path tokens, query values and credentials replaced by ``***``.

    ``https://hooks.slack.com/services/T0/B0/XYZ`` -> ``https://hooks.slack.com/services/***/***/***``
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    path = "/".join(
        seg if not seg or _PLAIN_SEGMENT.fullmatch(seg) else "***" for seg in parts.path.split("/")
    )
    query = "&".join(
        f"{key}=***" if value else key
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    return f"{parts.scheme}://{host}{path}" + (f"?{query}" if query else "")


def scrub(text: str, url: str) -> str:
    """``text`` with every credential-like part of ``url`` masked (for error messages)."""
    for secret in _secret_parts(url):
        text = text.replace(secret, "***")
    return text


class _Retryable(Exception):
    """A failed attempt that is safe and worth trying again: the provider did not take the notice."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Rejected(Exception):
    """A failed attempt not to try again: it would fail the same way (4xx, provider error code),
    or the provider may have taken the notice already (no answer after the body was sent)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _provider_error(provider: str, response: requests.Response) -> tuple[int, str] | None:
    """(code, message) when a 200 answer carries a provider-level error, else None."""
    if provider not in ("feishu", "dingtalk", "wecom"):
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for code_key, msg_key in (
        ("code", "msg"),
        ("errcode", "errmsg"),
        ("StatusCode", "StatusMessage"),
    ):
        code = data.get(code_key)
        if isinstance(code, int) and code != 0:
            return code, str(data.get(msg_key, ""))
    return None


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _http_reason(response: requests.Response) -> str:
    text = " ".join(response.text.split())[:200]
    return f"HTTP {response.status_code}: {text}" if text else f"HTTP {response.status_code}"


def seconds_text(value: float) -> str:
    """``5s``, ``0.5s``, ``12.5s``: a duration as people read it."""
    return f"{round(value, 1):g}s"


def _describe_connection_error(exc: Exception) -> str:
    import requests

    if isinstance(exc, requests.ConnectTimeout):
        return "connection timed out"
    text = str(exc)
    for needle, reason in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("Temporary failure in name resolution", "DNS lookup failed"),
        ("Failed to resolve", "DNS lookup failed"),
        ("CERTIFICATE_VERIFY_FAILED", "TLS certificate not trusted"),
        ("Connection reset", "connection reset"),
        ("RemoteDisconnected", "connection closed without an answer"),
        ("Network is unreachable", "network unreachable"),
    ):
        if needle in text:
            return reason
    return f"{exc.__class__.__name__}: {text}"


def _not_sent(exc: Exception) -> bool:
    """True when the request failed before its body left: trying again cannot post twice."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.SSLError):
        return False  # a certificate problem stays one
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError carries the cause
        return isinstance(reason, NewConnectionError | ConnectTimeoutError)
    return False


# Providers that drop a repeated notice themselves (an idempotency key in the
# request).  None of the incoming-webhook APIs lain posts to does, so a notice
# whose body was sent and that got no answer is never sent again: a slow chat
# server that works would otherwise show it several times.
DEDUPING_PROVIDERS: frozenset[str] = frozenset()


def _post_once(webhook: Webhook, body: dict[str, Any], connect_timeout: float, read_timeout: float,
               total: float) -> None:
    """One attempt, on a connection of its own (a reused one may be closed by the server
    after the body was sent, which would look like "no answer")."""
    import requests

    try:
        with requests.Session() as session:
            response = session.post(webhook.url, json=body, timeout=(connect_timeout, read_timeout))
    except requests.RequestException as exc:
        if _not_sent(exc):
            raise _Retryable(_describe_connection_error(exc)) from None
        if isinstance(exc, requests.ReadTimeout):
            reason = f"no answer within {seconds_text(total)}"
        else:
            reason = _describe_connection_error(exc)
        if webhook.provider in DEDUPING_PROVIDERS:
            raise _Retryable(reason) from None
        # the provider may have taken it: sending it again could post it twice
        raise _Rejected(reason) from None
    status = response.status_code
    if status == 429 or status >= 500:
        raise _Retryable(_http_reason(response), _retry_after(response))
    if status >= 300:
        raise _Rejected(_http_reason(response))
    error = _provider_error(webhook.provider, response)
    if error is not None:
        code, message = error
        reason = f"{webhook.provider_name} error {code}" + (f": {message}" if message else "")
        if code in _RATE_LIMIT_CODES:
            raise _Retryable(reason)
        raise _Rejected(reason)


def default_total_timeout() -> float:
    """Seconds a notice may take in all by default: ``$LAIN_WEBHOOK_TIMEOUT``, else 5."""
    try:
        value = float(os.environ.get(TIMEOUT_ENV, ""))
    except ValueError:
        return DEFAULT_TOTAL_TIMEOUT
    return value if value > 0 else DEFAULT_TOTAL_TIMEOUT


_SHORT_NAMES = {
    "deploy-start": "deploy started",
    "deploy-success": "deployed",
    "deploy-failure": "deploy failed",
    "rollback": "rolled back",
    "uninstall": "uninstalled",
    "uninstall-failure": "uninstall failed",
    "restart-start": "restart started",
    "restart": "restarted",
    "restart-failure": "restart failed",
    "job": "job run",
    "env-change": "env changed",
    "secret-change": "secret files changed",
    "message": "message",
}


@dataclass(eq=False)
class Delivery:
    """One notice on its way: what, where, until when, and how it ended."""

    webhook: Webhook
    event: Event
    timeout: float
    deadline: float
    done: threading.Event = field(default_factory=threading.Event)
    delivered: bool = False
    reason: str = ""
    attempts: int = 0

    @property
    def what(self) -> str:
        return _SHORT_NAMES.get(self.event.kind, self.event.kind)


class Outbox:
    """The notices of this run of lain: tells once that lain waits for them, and once at
    the end which did not arrive (one warning line, not one per attempt or notice)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._told_waiting = False

    def open(self, webhook: Webhook, event: Event, timeout: float) -> Delivery:
        delivery = Delivery(webhook, event, timeout, time.monotonic() + timeout)
        with self._lock:
            self._deliveries.append(delivery)
        return delivery

    def tell_waiting(self, pending: list[Delivery]) -> None:
        """The line on the screen while lain waits for a webhook (once per run)."""
        from lain_cli import console

        with self._lock:
            if self._told_waiting or not pending:
                return
            self._told_waiting = True
        hook = pending[0].webhook
        left = max(d.deadline for d in pending) - time.monotonic()
        what = f"{len(pending)} notices" if len(pending) > 1 else "the notice"
        console.step(f"waiting for the {hook.provider_name} webhook {mask_url(hook.url)} to take {what} "
                     f"(at most {seconds_text(max(0.0, left))} more)")

    def forget(self, delivery: Delivery) -> None:
        with self._lock:
            self._deliveries = [d for d in self._deliveries if d is not delivery]

    def pending(self) -> list[Delivery]:
        with self._lock:
            return [d for d in self._deliveries if not d.done.is_set()]

    def settle(self, timeout: float | None = None, *, tell_after: float = 0.3) -> list[Delivery]:
        """Wait for the notices still on their way (each until its own deadline, all at most
        ``timeout`` seconds), then print one warning line naming those that did not arrive.

        Returns the notices that did not arrive, and forgets every notice of the run.
        """
        started = time.monotonic()
        limit = started + timeout if timeout is not None else None
        try:
            while True:
                pending = self.pending()
                if not pending:
                    break
                now = time.monotonic()
                until = max(d.deadline for d in pending)
                if limit is not None:
                    until = min(until, limit)
                if now >= until:
                    break
                if now - started >= tell_after:
                    self.tell_waiting(pending)
                pending[0].done.wait(min(0.1, until - now))
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: stop waiting, still say what did not arrive
        with self._lock:
            deliveries, self._deliveries = self._deliveries, []
            self._told_waiting = False
        failed = [d for d in deliveries if not d.delivered]
        for delivery in failed:
            if not delivery.done.is_set() and not delivery.reason:
                delivery.reason = f"no answer within {seconds_text(delivery.timeout)}"
        report_undelivered(failed)
        return failed


def report_undelivered(failed: list[Delivery]) -> None:
    """One warning line: which notices did not reach which webhook, and why (URL tokens masked)."""
    from lain_cli import console

    if not failed:
        return
    by_hook: dict[str, list[Delivery]] = {}
    for delivery in failed:
        by_hook.setdefault(delivery.webhook.url, []).append(delivery)
    parts = []
    for url, deliveries in by_hook.items():
        hook = deliveries[0].webhook
        count = len(deliveries)
        notices = "; ".join(f"{d.what} ({d.reason or 'not sent'})" for d in deliveries)
        parts.append(scrub(f"{count} notice{'s' if count != 1 else ''} did not reach the {hook.provider_name} "
                           f"webhook {mask_url(url)}: {notices}", url))
    console.warn(" / ".join(parts))


OUTBOX = Outbox()


def settle(timeout: float | None = None) -> list[Delivery]:
    """Wait (bounded) for the notices of this run still on their way and warn, in one line,
    about those that did not arrive.  ``lain``'s entry point calls it when a command ends."""
    return OUTBOX.settle(timeout)


def send(
    webhook: Webhook,
    event: Event,
    *,
    total_timeout: float | None = None,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    backoff: float = 0.25,
    report: bool | None = None,
) -> bool:
    """Post ``event`` to ``webhook``; True when the provider accepted it.  Never raises.

    Tries again only where that cannot post the notice twice: a connection
    that failed before the body was sent, a 429 or 5xx answer, a provider's
    rate-limit code; with exponential backoff honouring Retry-After.  A
    request whose body was sent and that got no answer is not sent again.
    All of it within ``total_timeout`` seconds (default: the webhook's
    ``timeout``, else ``$LAIN_WEBHOOK_TIMEOUT``, else 5); ``request_timeout``
    bounds each connection attempt, while an answer may take until the end.

    A notice that takes longer than a moment prints, once per run, a line
    saying lain waits for it (not for ``deploy-start``, sent while lain works).
    What did not arrive is said in one warning line: at once when ``report``
    (default: when called from the main thread), else by :func:`settle`.
    """
    import tenacity

    if total_timeout is None:
        total_timeout = webhook.timeout or default_total_timeout()
    if report is None:
        report = threading.current_thread() is threading.main_thread()
    delivery = OUTBOX.open(webhook, event, total_timeout)
    body = build_body(webhook.provider, event)
    exponential = tenacity.wait_exponential(multiplier=backoff, max=2)
    min_attempt = min(0.2, total_timeout / 4)

    def remaining() -> float:
        return delivery.deadline - time.monotonic()

    def wait(state: tenacity.RetryCallState) -> float:
        delay = exponential(state)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            if exc.retry_after > remaining() - min_attempt:
                raise _Rejected(f"{exc.reason} (asked to retry after {seconds_text(exc.retry_after)}, "
                                f"past the {seconds_text(total_timeout)} timeout)")
            delay = max(delay, exc.retry_after)
        return max(0.0, min(delay, remaining() - min_attempt))

    def stop(state: tenacity.RetryCallState) -> bool:
        return remaining() < min_attempt

    timer = None
    if event.kind != "deploy-start":
        timer = threading.Timer(0.5, lambda: OUTBOX.tell_waiting([delivery]))
        timer.daemon = True
        timer.start()
    try:
        for attempt in tenacity.Retrying(
            stop=stop,
            wait=wait,
            retry=tenacity.retry_if_exception_type(_Retryable),
            reraise=True,
        ):
            with attempt:
                delivery.attempts += 1
                left = max(0.05, remaining())
                _post_once(webhook, body, min(request_timeout, left), left, total_timeout)
    except (_Retryable, _Rejected) as exc:
        delivery.reason = exc.reason
    except Exception as exc:  # noqa: BLE001 - a notice must never fail the command
        delivery.reason = f"{exc.__class__.__name__}: {exc}"
    else:
        delivery.delivered = True
    finally:
        if timer is not None:
            timer.cancel()
        delivery.done.set()
    if delivery.delivered:
        from lain_cli import console, proc

        if proc.is_verbose():
            console.info(f"notice sent to {webhook.provider_name} webhook {mask_url(webhook.url)}")
        return True
    if delivery.attempts > 1:
        delivery.reason += f", after {delivery.attempts} attempts"
    if report:
        OUTBOX.forget(delivery)
        report_undelivered([delivery])
    return False


def webhook_for(values: Mapping[str, Any] | None, cluster: Any) -> Webhook | None:
    """The webhook for an app on a cluster: the app's ``webhook`` value, else the cluster's.

    An app webhook with ``clusters`` only serves those clusters; on any other
    cluster there is no webhook (the app chose where its notices go).  A
    webhook without a ``timeout`` of its own gets the cluster's ``notify.timeout``.
    """
    cluster_name = getattr(cluster, "name", "")
    app_config = (values or {}).get("webhook")
    hook: Webhook | None
    if app_config:
        hook = parse_webhook(app_config, "webhook")
    else:
        cluster_config = getattr(cluster, "webhook", None)
        if not cluster_config:
            return None
        if not isinstance(cluster_config, Mapping | str):
            # a parsed webhook object from the cluster layer: read its fields
            cluster_config = {
                key: getattr(cluster_config, key)
                for key in ("url", "provider", "clusters", "timeout")
                if getattr(cluster_config, key, None) is not None
            }
        hook = parse_webhook(cluster_config, f"clusters/{cluster_name}.yaml: webhook")
    if not hook.applies_to(cluster_name):
        return None
    notify_timeout = getattr(cluster, "notify_timeout", None)
    if hook.timeout is None and isinstance(notify_timeout, int | float) and notify_timeout > 0:
        hook = replace(hook, timeout=float(notify_timeout))
    return hook


_told_no_webhook: set[tuple[str, str]] = set()


def send_event(ctx: Any, event: Event, **send_options: Any) -> bool:
    """Send ``event`` to the webhook of ``ctx`` (an AppContext); False if none or it failed.

    A broken webhook config is reported as a warning: the change it would
    announce has already happened and must not be reported as a failure.
    """
    from lain_cli import console
    from lain_cli.errors import LainError

    try:
        hook = webhook_for(getattr(ctx, "values", None), ctx.cluster)
    except LainError as exc:
        console.warn(f"no notice sent: {exc.message}")
        return False
    if hook is None:
        # Said once per run: a deploy sends several notices.
        if (event.app, event.cluster) not in _told_no_webhook:
            _told_no_webhook.add((event.app, event.cluster))
            console.info(f"no webhook configured for {event.app} on {event.cluster}: no notices sent")
        return False
    return send(hook, event, **send_options)
