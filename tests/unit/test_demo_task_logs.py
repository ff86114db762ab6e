"""`make demo` runs each DAG with `airflow dags test`, which prints the task logs to its output only:
each task's part of that output is written where the Airflow UI reads the task's log."""

from __future__ import annotations

from credit_platform.local.chain import write_task_logs

RUN = "manual__2026-12-05T15:07:07.324401+00:00"


def _task(task_id: str, map_index: int, *body: str) -> list[str]:
    return [f"2026-12-05T15:07:08Z [info ] [DAG TEST] starting task_id={task_id} map_index={map_index} [dag]\n",
            f"2026-12-05T15:07:08Z [info ] [DAG TEST] running task <TaskInstance: d.{task_id} {RUN}"
            f" [TaskInstanceState.SCHEDULED] ti_id=1> [dag]\n",
            *[f"2026-12-05T15:07:09Z [info ] {line} [task]\n" for line in body],
            f"2026-12-05T15:07:10Z [info ] [DAG TEST] end task task_id={task_id} map_index={map_index} [dag]\n"]


def test_each_task_attempt_gets_the_file_the_ui_reads(tmp_path):
    output = "".join([
        "2026-12-05T15:07:07Z [info ] Created dag run [dag]\n",
        *_task("find_files", -1, "3 files"),
        *_task("load", 0, "loaded penalties_1.csv"),
        *_task("load", 1, "failed: a damaged sheet"),
        *_task("load", 1, "loaded penalties_2.xlsx"),  # the retry of map index 1
        "2026-12-05T15:07:11Z [info ] [DAG TEST] starting task_id=publish map_index=-1 [dag]\n",  # never ended
        f"2026-12-05T15:07:12Z [info ] DagRun Finished: dag_id=d, run_id={RUN}, state=failed\n",
    ])  # fmt: skip
    written = write_task_logs("ingest_departments", output, tmp_path)
    run = tmp_path / "dag_id=ingest_departments" / f"run_id={RUN}"
    assert written == [run / "task_id=find_files" / "attempt=1.log",
                       run / "task_id=load" / "map_index=0" / "attempt=1.log",
                       run / "task_id=load" / "map_index=1" / "attempt=1.log",
                       run / "task_id=load" / "map_index=1" / "attempt=2.log"]  # fmt: skip
    first = written[0].read_text(encoding="utf-8")
    assert first.startswith("2026-12-05T15:07:08Z") and "3 files" in first and "penalties" not in first
    assert "a damaged sheet" in written[2].read_text() and "penalties_2.xlsx" in written[3].read_text()
    assert write_task_logs("d", "no task here\n", tmp_path / "none") == []
