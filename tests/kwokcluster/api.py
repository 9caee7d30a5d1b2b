"""Direct HTTPS calls to the API server with the admin credentials (``requests``).

Much cheaper than a kubectl process per call.  :class:`Resources` maps kinds, plurals and
short names to REST paths from the API server's aggregated discovery.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

Obj = dict[str, Any]
DISCOVERY = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"


class ApiError(Exception):
    """A non-2xx answer: ``status`` is the HTTP code, ``reason`` the Status reason."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        self.status = status
        self.body = body
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = {}
        self.reason = str(parsed.get("reason") or "") if isinstance(parsed, dict) else ""
        message = parsed.get("message") if isinstance(parsed, dict) else None
        super().__init__(f"{method} {path}: {status} {message or body.strip()[:500]}")


@dataclass(frozen=True)
class Credentials:
    server: str
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    token: str | None = None
    insecure: bool = False


class Api:
    """One ``requests`` session to the API server (thread-safe enough for our callers)."""

    def __init__(self, credentials: Credentials, timeout: float = 30.0) -> None:
        self.credentials = credentials
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # never a proxy: the server is on 127.0.0.1
        self.session.verify = False if credentials.insecure else (str(credentials.ca) if credentials.ca else True)
        if credentials.cert and credentials.key:
            self.session.cert = (str(credentials.cert), str(credentials.key))
        if credentials.token:
            self.session.headers["Authorization"] = f"Bearer {credentials.token}"

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                body: Obj | list[Any] | None = None, content_type: str = "application/json",
                accept: str = "application/json", stream: bool = False,
                timeout: float | tuple[float, float] | None = None) -> requests.Response:
        headers = {"Accept": accept}
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = json.dumps(body)
        reply = self.session.request(method, self.credentials.server + path, params=params, data=data,
                                     headers=headers, stream=stream,
                                     timeout=timeout if timeout is not None else self.timeout)
        if reply.status_code >= 400:
            text = reply.text
            reply.close()
            raise ApiError(method, path, reply.status_code, text)
        return reply

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        reply = self.request(method, path, **kwargs)
        return reply.json() if reply.content else None

    def text(self, method: str, path: str, **kwargs: Any) -> str:
        return self.request(method, path, **kwargs).text


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str = "") -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if subresource:
            base += f"/{subresource}"
        return base


class Resources:
    """Kinds the API server serves, looked up by plural, kind or short name.  The last
    discovery of each server is shared by all its clients (a lookup that misses asks again)."""

    _known: dict[str, list[Resource]] = {}
    _known_lock = threading.Lock()

    def __init__(self, api: Api) -> None:
        self._api = api
        self._lock = threading.Lock()
        with self._known_lock:
            self._items: list[Resource] = list(self._known.get(api.credentials.server, []))

    def refresh(self) -> None:
        items: list[Resource] = []
        for path in ("/api", "/apis"):
            listing = self._api.json("GET", path, accept=DISCOVERY)
            for group in listing.get("items") or []:
                name = (group.get("metadata") or {}).get("name", "")
                for version in group.get("versions") or []:  # the preferred version first
                    for res in version.get("resources") or []:
                        kind = (res.get("responseKind") or {}).get("kind", "")
                        items.append(Resource(group=name, version=version["version"], plural=res["resource"],
                                              kind=kind, namespaced=res.get("scope") == "Namespaced",
                                              short_names=tuple(res.get("shortNames") or ())))
        with self._lock:
            self._items = items
        with self._known_lock:
            self._known[self._api.credentials.server] = items

    def _find(self, match: Any) -> Resource | None:
        with self._lock:
            items = list(self._items)
        return next((r for r in items if match(r)), None)

    def lookup(self, kind_or_plural: str, api_version: str | None = None) -> Resource:
        """``deployments``, ``Deployment``, ``deploy`` or ``deployments.apps``."""
        name, _, group = kind_or_plural.lower().partition(".")

        def match(r: Resource) -> bool:
            if api_version and r.api_version != api_version:
                return False
            if group and r.group != group:
                return False
            return name in (r.plural, r.kind.lower(), *r.short_names)

        found = self._find(match)
        if found is None:
            self.refresh()  # a CRD created since
            found = self._find(match)
        if found is None:
            raise KeyError(kind_or_plural if not api_version else f"{api_version} {kind_or_plural}")
        return found

    def for_object(self, obj: Obj) -> Resource:
        return self.lookup(obj["kind"], obj["apiVersion"])
