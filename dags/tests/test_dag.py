"""Tests of dags/pinpipe_batch.py against a stand-in of the airflow modules.

Run from the repository root: python3 -m unittest discover -s dags/tests
It needs the go tool (it builds batchjob and generates the input with it).
"""

import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from datetime import timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
DAGS = os.path.dirname(HERE)
REPO = os.path.dirname(DAGS)
sys.path.insert(0, os.path.join(HERE, "stub_airflow"))
sys.path.insert(0, DAGS)

import airflow.models  # noqa: E402  (the stand-in)

DS = "2026-11-24"
PREFIX = "124a514b9149"


def load_dag(variables, env):
    """Import the DAG file afresh with the given Variables and environment."""
    airflow.models._variables.clear()
    airflow.models._variables.update(variables)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        sys.modules.pop("pinpipe_batch", None)
        return importlib.import_module("pinpipe_batch")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class TestDag(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pinpipe-dag-")
        cls.bin = os.path.join(cls.tmp, "batchjob")
        subprocess.run(["go", "build", "-o", cls.bin, "./cmd/batchjob"], cwd=REPO, check=True)
        cls.input = os.path.join(cls.tmp, "topics")
        subprocess.run(
            ["go", "run", "./pkg/batch/testdata/gen", "--out", cls.input, "--prefix", PREFIX,
             "--posts", "3000", "--per-object", "100", "--partitions", "2"],
            cwd=REPO, check=True)
        cls.output = os.path.join(cls.tmp, "out")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def dag_module(self, **overrides):
        env = {
            "PINPIPE_BATCH_BIN": self.bin,
            "PINPIPE_INPUT": self.input,
            "PINPIPE_PREFIX": PREFIX,
            "PINPIPE_OUTPUT": self.output,
        }
        env.update(overrides)
        return load_dag({}, env)

    def test_schedule_and_retries(self):
        mod = self.dag_module()
        dag = mod.dag
        self.assertEqual(dag.dag_id, "pinpipe_batch_daily")
        self.assertEqual(dag.schedule, "@daily")
        self.assertFalse(dag.catchup)
        self.assertEqual(len(dag.tasks), 1)
        task = dag.tasks[0]
        self.assertEqual(task.retries, 2)
        self.assertEqual(task.retry_delay, timedelta(minutes=2))

    def test_variables_win_over_environment(self):
        mod = load_dag(
            {"pinpipe_batch_bin": "/opt/bin/batchjob", "pinpipe_input": "s3://landing/topics",
             "pinpipe_prefix": "abc", "pinpipe_output": "s3://lake/batch"},
            {"PINPIPE_INPUT": "/ignored"})
        self.assertEqual(
            mod.dag.tasks[0].render(DS),
            "/opt/bin/batchjob --input s3://landing/topics --prefix abc --output s3://lake/batch --date 2026-11-24")

    def test_command_runs_against_real_data(self):
        task = self.dag_module().dag.tasks[0]
        cmd = task.render(DS)
        self.assertEqual(
            cmd,
            f"{self.bin} --input {self.input} --prefix {PREFIX} --output {self.output} --date {DS}")
        res = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True)
        self.assertEqual(res.returncode, 0, res.stderr)
        published = os.path.join(self.output, "dt=" + DS)
        self.assertTrue(os.path.exists(os.path.join(published, "_SUCCESS")))
        for name in ["popular_category_by_country", "popular_category_by_year",
                     "most_followed_user_by_country", "country_with_most_followed_user",
                     "popular_category_by_age_group", "median_followers_by_age_group",
                     "users_joined_by_year", "median_followers_by_join_year",
                     "median_followers_by_age_group_and_join_year"]:
            self.assertTrue(os.path.isfile(os.path.join(published, "insights", name, "part-00000.parquet")), name)
        self.assertIn("popular_category_by_country", res.stdout)

    def test_command_fails_on_missing_input(self):
        task = self.dag_module(PINPIPE_INPUT=os.path.join(self.tmp, "missing")).dag.tasks[0]
        res = subprocess.run(["bash", "-c", task.render(DS)], capture_output=True, text=True)
        self.assertNotEqual(res.returncode, 0)  # the BashOperator fails the task
        self.assertEqual(len(res.stderr.strip().splitlines()), 1, res.stderr)


if __name__ == "__main__":
    unittest.main()
