"""Folding ansible-runner events into progress and failures (hand-written events, shaped as
ansible-runner 2.4 emits them)."""

from __future__ import annotations

from typing import Any

from kubedojo.onprem.events import HostTally, PlaybookProgress, TaskFailure, result_message


def event(name: str, **data: Any) -> dict[str, Any]:
    return {"event": name, "event_data": data, "created": "2026-11-23T09:00:00+00:00"}


def task(name: str, role: str = "") -> dict[str, Any]:
    return event("playbook_on_task_start", task=name, role=role)


def test_progress_counts_tasks_and_hosts_and_keeps_the_failures_that_matter() -> None:
    progress = PlaybookProgress("cluster.yml", keep_results_of=("Read the clock",))
    progress.feed(event("playbook_on_play_start", play="Prepare the nodes"))
    progress.feed(task("Gather facts"))
    for host in ("cp1", "w1"):
        progress.feed(event("runner_on_ok", host=host, task="Gather facts", res={"changed": False}))
    progress.feed(task("Probe an optional feature", "checks"))
    progress.feed(
        event(
            "runner_on_failed",
            host="w1",
            task="Probe an optional feature",
            role="checks",
            ignore_errors=True,
            res={"msg": "non-zero return code", "rc": 1},
        )
    )
    progress.feed(task("Try the fast path", "checks"))
    progress.feed(
        event(
            "runner_on_failed",
            host="cp1",
            task="Try the fast path",
            role="checks",
            res={"msg": "no fast path"},
        )
    )
    progress.feed(task("Stop if the host is unfit", "checks"))
    progress.feed(
        event(
            "runner_on_failed",
            host="w1",
            task="Stop if the host is unfit",
            role="checks",
            res={"msg": "non-zero return code", "rc": 1, "stderr": "starting\nkernel too old\n"},
        )
    )
    progress.feed(
        event(
            "runner_on_unreachable",
            host="w2",
            task="Gather facts",
            res={"msg": "Failed to connect to the host via ssh: Connection timed out"},
        )
    )
    progress.feed(task("Read the clock"))
    progress.feed(
        event(
            "runner_on_ok",
            host="cp1",
            task="Read the clock",
            res={"stdout": "1.5"},
            start="2026-11-23T09:00:00+00:00",
            end="2026-11-23T09:00:01+00:00",
        )
    )

    live = progress.snapshot()
    assert live.task == "Read the clock" and live.tasks_started == 5 and not live.finished
    assert live.hosts["w1"] == HostTally(ok=1, failed=1, ignored=1)
    assert live.hosts_failed == ["cp1", "w1", "w2"]

    # The recap: the block rescued cp1's failure, so cp1 has no failure left to report.
    progress.feed(
        event(
            "playbook_on_stats",
            ok={"cp1": 3, "w1": 1},
            changed={},
            failures={"w1": 1},
            dark={"w2": 1},
            skipped={},
            rescued={"cp1": 1},
            ignored={"w1": 1},
        )
    )
    final = progress.snapshot()
    assert final.finished
    assert final.hosts["cp1"] == HostTally(ok=3, rescued=1)
    assert final.failures == (
        TaskFailure("w1", "checks : Stop if the host is unfit", "kernel too old (exit code 1)"),
        TaskFailure(
            "w2", "Gather facts", "Failed to connect to the host via ssh: Connection timed out", True
        ),
    )
    assert final.failures[1].describe() == (
        "w2 unreachable at 'Gather facts': Failed to connect to the host via ssh: Connection timed out"
    )
    kept = progress.result("cp1", "Read the clock")
    assert kept is not None and kept["res"] == {"stdout": "1.5"} and kept["end"].endswith("09:00:01+00:00")
    assert progress.result("w1", "Read the clock") is None


def test_result_message_prefers_what_explains_the_failure() -> None:
    assert result_message({"msg": "Swap is on"}) == "Swap is on"
    assert result_message({"msg": "non-zero return code", "rc": 2, "stderr": "E: no such package\n"}) == (
        "E: no such package (exit code 2)"
    )
    assert (
        result_message({"msg": "MODULE FAILURE", "module_stderr": "Traceback...\nKeyError: 'x'"})
        == "KeyError: 'x'"
    )
    assert (
        result_message(
            {
                "msg": "One or more items failed",
                "results": [{"failed": False, "msg": "fine"}, {"failed": True, "msg": "item 2 broke"}],
            }
        )
        == "item 2 broke"
    )
    assert result_message({"rc": 3}) == "exit code 3"
    assert result_message({}) == "no message"
    assert result_message({"msg": "a\n  long\nmessage"}) == "a long message"
