"""The transport: http.client with bounded redirects, retries with backoff
on 429/503 (honouring Retry-After), JSON helpers and typed errors."""

import http.client
import json
import time
import urllib.parse

from .errors import SoulBoxError, error_for_status

_REDIRECTS = (301, 302, 303, 307, 308)
_RETRIED = (429, 503)


class Transport:
    def __init__(self, base_url, headers=None, timeout=60.0, max_redirects=5, max_retries=3, backoff=0.5):
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.max_retries = max_retries
        self.backoff = backoff

    def request(self, method, path, body=None, headers=None, query=None, stream=False, timeout=None):
        """The response (read, or open when `stream`); errors raised typed."""
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        all_headers = dict(self.headers)
        all_headers.update(headers or {})
        for attempt in range(self.max_retries + 1):
            resp = self._follow(method, url, body, all_headers, timeout or self.timeout)
            if resp.status in _RETRIED and attempt < self.max_retries:
                wait = _retry_after(resp) or self.backoff * (2 ** attempt)
                resp.read()
                time.sleep(min(wait, 30))
                continue
            if resp.status >= 400:
                raise _error_from(resp)
            if stream:
                return resp
            data = resp.read()
            resp.close()
            return resp.status, dict(resp.getheaders()), data
        raise SoulBoxError("unreachable")

    def json(self, method, path, payload=None, **kw):
        body = None if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        headers.update(kw.pop("headers", {}))
        status, head, data = self.request(method, path, body=body, headers=headers, **kw)
        return status, head, (json.loads(data) if data else None)

    def _follow(self, method, url, body, headers, timeout):
        for _ in range(self.max_redirects + 1):
            parts = urllib.parse.urlsplit(url)
            conn_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            conn = conn_class(parts.hostname, parts.port, timeout=timeout)
            target = parts.path or "/"
            if parts.query:
                target += "?" + parts.query
            try:
                conn.request(method, target, body=body, headers=headers)
                resp = conn.getresponse()
            except OSError as e:
                conn.close()
                raise SoulBoxError("cannot reach %s: %s" % (url, e)) from e
            if resp.status not in _REDIRECTS:
                return resp
            location = resp.getheader("Location")
            resp.read()
            conn.close()
            if not location:
                raise SoulBoxError("redirect without a Location from %s" % url)
            url = urllib.parse.urljoin(url, location)
            if resp.status == 303:
                method, body = "GET", None
        raise SoulBoxError("more than %d redirects from %s" % (self.max_redirects, url))


def _retry_after(resp):
    value = resp.getheader("Retry-After")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _error_from(resp):
    data = resp.read()
    resp.close()
    message = data.decode(errors="replace")
    try:
        parsed = json.loads(data)
        if isinstance(parsed, dict) and parsed.get("message"):
            message = parsed["message"]
            if isinstance(parsed.get("code"), str):  # a Connect error body
                from .errors import error_for_connect

                return error_for_connect(parsed["code"], message)
    except ValueError:
        pass
    return error_for_status(resp.status, "%d: %s" % (resp.status, message))
