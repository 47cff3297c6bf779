"""Alerts to a WeCom (企业微信) or DingTalk (钉钉) group robot: the channel Chinese government teams watch.

`INNOSTAT_ALERT_WEBHOOK` is the robot's URL; `INNOSTAT_ALERT_FORMAT` is `wecom` (default) or `dingtalk`. Without
a webhook, alerts go to the log. A message never carries personal data: only step names and error text, which
the pipeline keeps free of clear personal values.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from dataclasses import dataclass

log = logging.getLogger("innostat.alerts")


@dataclass(frozen=True)
class Alert:
    title: str
    failed_steps: list[str]
    error: str
    run_url: str

    def markdown(self) -> str:
        steps = "、".join(self.failed_steps) or "（未知）"
        return (
            f"### {self.title}\n"
            f"> 失败步骤 (failed step): {steps}\n"
            f"> 错误 (error): {self.error[:800]}\n\n"
            f"[查看运行详情 (open the run)]({self.run_url})"
        )


def payload(alert: Alert, fmt: str = "wecom") -> dict:
    """The JSON body a group robot accepts."""
    if fmt == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": alert.title, "text": alert.markdown()}}
    if fmt == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": alert.markdown()}}
    raise ValueError(f"INNOSTAT_ALERT_FORMAT must be wecom or dingtalk, not {fmt!r}")


def send(alert: Alert, webhook: str | None = None, fmt: str | None = None, timeout: float = 10.0) -> bool:
    """Post the alert; True when the robot accepted it. With no webhook configured, log it instead."""
    webhook = webhook if webhook is not None else os.environ.get("INNOSTAT_ALERT_WEBHOOK", "")
    fmt = fmt or os.environ.get("INNOSTAT_ALERT_FORMAT", "wecom")
    body = payload(alert, fmt)
    if not webhook:
        log.warning("ALERT (no INNOSTAT_ALERT_WEBHOOK configured): %s", json.dumps(body, ensure_ascii=False))
        return False
    request = urllib.request.Request(
        webhook,
        data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = response.read().decode("utf-8", "replace")
    except OSError as err:
        log.error("alert webhook %s failed: %s; the alert was: %s", webhook, err, alert.markdown())
        return False
    # Both robots answer HTTP 200 with {"errcode": 0} when they accepted the message.
    try:
        accepted = json.loads(answer).get("errcode", 0) == 0
    except ValueError:
        accepted = True
    if not accepted:
        log.error("alert webhook refused the message: %s", answer)
    return accepted
