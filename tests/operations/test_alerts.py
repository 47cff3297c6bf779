"""The failure alert reaches a (local) group-robot webhook in WeCom/DingTalk JSON, or the log without one."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import dagster as dg
import pytest

from pipelines.defs.operations.alerts import alert_on_run_failure
from pipelines.lib.alerts import Alert, payload, send


class _Robot(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Robot.received.append(json.loads(body.decode("utf-8")))
        answer = b'{"errcode": 0, "errmsg": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def robot():
    _Robot.received = []
    server = HTTPServer(("127.0.0.1", 0), _Robot)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=test", _Robot.received
    server.shutdown()


@dg.op
def publish_step():
    raise RuntimeError("check expect_column_values_to_be_between on marts.indicator_values failed")


@dg.job
def failing_job():
    publish_step()


def test_a_failed_run_posts_the_step_error_and_link(robot, monkeypatch):
    url, received = robot
    monkeypatch.setenv("INNOSTAT_ALERT_WEBHOOK", url)
    monkeypatch.setenv("INNOSTAT_DAGSTER_URL", "http://127.0.0.1:3000")
    with dg.DagsterInstance.ephemeral() as instance:
        result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        context = dg.build_run_status_sensor_context(
            sensor_name="alert_on_run_failure",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        ).for_run_failure()
        alert_on_run_failure(context)
    assert len(received) == 1
    content = received[0]["markdown"]["content"]
    assert received[0]["msgtype"] == "markdown"
    assert "publish_step" in content
    assert "expect_column_values_to_be_between" in content
    assert f"/runs/{result.run_id}" in content


def test_dingtalk_format_and_no_webhook_goes_to_the_log(robot, caplog):
    url, received = robot
    alert = Alert(title="t", failed_steps=["s"], error="e", run_url="http://127.0.0.1:3000/runs/x")
    assert send(alert, webhook=url, fmt="dingtalk")
    assert received[0]["markdown"]["title"] == "t" and "s" in received[0]["markdown"]["text"]
    assert not send(alert, webhook="", fmt="wecom")
    assert "ALERT" in caplog.text
    with pytest.raises(ValueError, match="wecom or dingtalk"):
        payload(alert, "slack")
