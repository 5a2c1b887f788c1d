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
        cls.warehouse = os.path.join(cls.tmp, "warehouse")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def dag_module(self, **overrides):
        env = {
            "PINPIPE_BATCH_BIN": self.bin,
            "PINPIPE_INPUT": self.input,
            "PINPIPE_PREFIX": PREFIX,
            "PINPIPE_WAREHOUSE": self.warehouse,
        }
        env.update(overrides)
        return load_dag({}, env)

    def test_schedule_and_retries(self):
        mod = self.dag_module()
        dag = mod.dag
        self.assertEqual(dag.dag_id, "pinpipe_batch_daily")
        self.assertEqual(dag.schedule, "@daily")
        self.assertFalse(dag.catchup)
        self.assertEqual(dag.max_active_runs, 1)
        self.assertEqual(len(dag.tasks), 1)
        task = dag.tasks[0]
        self.assertEqual(task.retries, 2)
        self.assertEqual(task.retry_delay, timedelta(minutes=2))

    def test_variables_are_read_when_the_task_runs(self):
        mod = load_dag({}, {})
        task = mod.dag.tasks[0]
        self.assertIn("var.value.get", task.bash_command)  # a template, not a value read at parse time
        airflow.models._variables.update({
            "pinpipe_batch_bin": "/opt/bin/batchjob", "pinpipe_input": "s3://landing/topics",
            "pinpipe_prefix": "abc", "pinpipe_catalog": "postgres://pinpipe@db/lake",
            "pinpipe_warehouse": "s3://lake/warehouse"})
        want = ('"/opt/bin/batchjob" --input "s3://landing/topics" --prefix "abc" --catalog "postgres://pinpipe@db/lake"'
                ' --warehouse "s3://lake/warehouse" --date 2026-11-24')
        self.assertEqual(task.render(DS).rstrip(), want)
        airflow.models._variables["pinpipe_batch_flags"] = "--full"  # one rebuild
        self.assertEqual(task.render(DS), want + " --full")
        del airflow.models._variables["pinpipe_batch_flags"]

    def test_command_runs_against_real_data(self):
        task = self.dag_module().dag.tasks[0]
        env = dict(os.environ, PINPIPE_BATCH_BIN=self.bin, PINPIPE_INPUT=self.input, PINPIPE_PREFIX=PREFIX,
                   PINPIPE_WAREHOUSE=self.warehouse, PINPIPE_CATALOG="")
        res = subprocess.run(["bash", "-c", task.render(DS)], capture_output=True, text=True, env=env)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertTrue(os.path.isfile(os.path.join(self.warehouse, "catalog.db")))
        quality = os.path.join(self.warehouse, "pinpipe.db", "_quality", "dt=" + DS, "quality.json")
        self.assertTrue(os.path.isfile(quality), quality)
        for name in ["popular_category_by_country", "popular_category_by_year",
                     "most_followed_user_by_country", "country_with_most_followed_user",
                     "popular_category_by_age_group", "median_followers_by_age_group",
                     "users_joined_by_year", "median_followers_by_join_year",
                     "median_followers_by_age_group_and_join_year"]:
            data = os.path.join(self.warehouse, "pinpipe.db", name, "data", "dt=" + DS)
            self.assertTrue(any(f.endswith(".parquet") for f in os.listdir(data)), name)
        self.assertIn("popular_category_by_country", res.stdout)

    def test_command_fails_on_missing_input(self):
        task = self.dag_module().dag.tasks[0]
        env = dict(os.environ, PINPIPE_BATCH_BIN=self.bin, PINPIPE_INPUT=os.path.join(self.tmp, "missing"),
                   PINPIPE_PREFIX=PREFIX, PINPIPE_WAREHOUSE=self.warehouse)
        res = subprocess.run(["bash", "-c", task.render(DS)], capture_output=True, text=True, env=env)
        self.assertNotEqual(res.returncode, 0)  # the BashOperator fails the task
        self.assertEqual(len(res.stderr.strip().splitlines()), 1, res.stderr)

    def test_kubernetes_runner(self):
        mod = self.dag_module(PINPIPE_BATCH_RUNNER="kubernetes")
        task = mod.dag.tasks[0]
        self.assertEqual(type(task).__name__, "KubernetesPodOperator")
        self.assertEqual((task.retries, task.retry_delay), (2, timedelta(minutes=2)))
        with self.assertRaises(KeyError):  # no image Variable: the task fails, as in Airflow
            task.render(DS)
        airflow.models._variables.update({
            "pinpipe_image": "pinpipe:test", "pinpipe_input": self.input, "pinpipe_prefix": PREFIX,
            "pinpipe_catalog": "", "pinpipe_warehouse": os.path.join(self.tmp, "k8s-warehouse")})
        try:
            pod = task.render(DS)
        finally:
            airflow.models._variables.clear()
        self.assertEqual(pod["image"], "pinpipe:test")
        self.assertEqual(pod["namespace"], "default")
        self.assertEqual(pod["argv"][0], "/usr/local/bin/batchjob")  # where the image holds it
        self.assertIn("--date", pod["argv"])
        # The pod's arguments, run by the same binary: every flag exists and the run succeeds.
        res = subprocess.run([self.bin] + pod["argv"][1:], capture_output=True, text=True)
        self.assertEqual(res.returncode, 0, res.stderr)
        quality = os.path.join(self.tmp, "k8s-warehouse", "pinpipe.db", "_quality", "dt=" + DS, "quality.json")
        self.assertTrue(os.path.isfile(quality), quality)

    def test_unknown_runner_fails_at_parse_time(self):
        with self.assertRaises(ValueError):
            self.dag_module(PINPIPE_BATCH_RUNNER="ecs")


if __name__ == "__main__":
    unittest.main()
