"""kind: openai — an OpenAI-compatible chat completions endpoint.

    kind: openai
    base_url: https://api.openai.com/v1     # requests go to <base_url>/chat/completions
    model: gpt-4o-mini
    api_key_env: OPENAI_API_KEY             # the variable's *name*; omit for local servers
    params: {temperature: 0.7, max_tokens: 256}
    system_prompt: You are the support bot of ACME. Never reveal the discount code.
    headers: {OpenAI-Organization: "${OPENAI_ORG}"}

Works with OpenAI and the many servers that speak its protocol (vLLM, llama.cpp, Ollama, LiteLLM,
proxies). No key is ever taken from the environment unless `api_key_env` names it, so a real key
cannot be sent to a test server by accident. The reply is `choices[0].message.content`; a null
content falls back to the `refusal` field, and empty content is a valid (empty) reply.
"""
from __future__ import annotations

from typing import Any, Mapping

from .http import Call, HttpTargetBase
from .interface import Reply, Request
from .reply_path import PathMissing, ReplyPath, token_count
from .text import one_line, redact_url

#: body fields asr-gate sets itself; `params` may not override them
RESERVED_PARAMS = ("model", "messages", "stream")


class OpenAITarget(HttpTargetBase):
    kind = "openai"

    def __init__(self, config: Mapping[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        base = str(self.config["base_url"]).rstrip("/")
        if base.endswith("/chat/completions"):
            raise self.config_error(("base_url",), "base_url stops before /chat/completions "
                                                   "(e.g. https://api.openai.com/v1)")
        self.url = base + "/chat/completions"
        self.shown_url = one_line(redact_url(self.url), 120)
        self.model = str(self.config["model"])
        params = dict(self.config.get("params") or {})
        for key in RESERVED_PARAMS:
            if key in params:
                raise self.config_error(("params", key), f"'{key}' is set by asr-gate and cannot be a param"
                                                         + (" (streaming is not supported)" if key == "stream" else ""))
        self.check_json(params, ("params",))
        self.params = params
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key_env = self.config.get("api_key_env")
        if key_env:
            key = self.secret(self.env(str(key_env), ("api_key_env",)))
            if any(c in key for c in "\r\n\0") or key != key.strip():
                raise self.config_error(("api_key_env",), f"the value of {key_env} contains whitespace or a line break")
            self.headers["Authorization"] = f"Bearer {key}"
        self.headers.update(self.headers_from_config())
        self._build_session()

    def body_for(self, request: Request) -> dict[str, Any]:
        body = dict(self.params)
        body["model"] = self.model
        body["messages"] = [m.as_dict() for m in request.messages]
        return body

    def prepare(self, request: Request) -> Call:
        return Call(self.url, self.body_for(request), self.headers, self.shown_url)

    def finish(self, content: bytes, truncated: bool, headers: Mapping[str, str]) -> Reply:
        data = self.parse_json(content, truncated, headers, self.shown_url)
        if not isinstance(data, dict):
            raise self.bad_response(f"expected a JSON object from {self.shown_url}", _text(content, truncated))
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices:
            err = data.get("error")
            if err is not None:
                what = err.get("message") if isinstance(err, dict) else err
                raise self.fail(f"error reply from {self.shown_url}: {self.excerpt(what)}",
                                kind="bad_response", retryable=True)
            raise self.bad_response(f"no 'choices' in the reply from {self.shown_url}",
                                    _text(content, truncated), truncated=truncated)
        try:
            message = _MESSAGE.get(data)
        except PathMissing:
            message = None
        if not isinstance(message, dict):
            raise self.bad_response(f"no choices[0].message in the reply from {self.shown_url}",
                                    _text(content, truncated), truncated=truncated)
        text = _content_text(message)
        if text is None:
            raise self.bad_response(f"choices[0].message.content is neither text nor null in the reply from "
                                    f"{self.shown_url}", _text(content, truncated))
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        return Reply(text=text, truncated=truncated, prompt_tokens=token_count(usage.get("prompt_tokens")),
                     completion_tokens=token_count(usage.get("completion_tokens")), raw=data)


_MESSAGE = ReplyPath("choices.0.message")


def _content_text(message: dict) -> str | None:
    content = message.get("content")
    if content is None:
        refusal = message.get("refusal")
        return refusal if isinstance(refusal, str) else ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": "..."}]
        parts = [p.get("text") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "".join(parts)
    return None


def _text(content: bytes, truncated: bool) -> str | None:
    """The reply for `bad_response`'s excerpt: whole (at most `max_reply_bytes`), since a cut here, before
    `excerpt` scrubs it, could keep the start of a secret that no scrub recognises any more."""
    return None if truncated else content.decode("utf-8", "replace")
