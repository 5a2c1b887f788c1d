"""Daily pinpipe batch run: the Airflow DAG that replaces the Databricks notebook job.

The task runs the batchjob binary for the run date (``{{ ds }}``). Where the binary
and its input, prefix and output are, comes from Airflow Variables, with the
environment (PINPIPE_*) as the default:

    pinpipe_batch_bin     PINPIPE_BATCH_BIN   path of batchjob (default "batchjob" on PATH)
    pinpipe_input         PINPIPE_INPUT       landing root, e.g. s3://bucket/topics
    pinpipe_prefix        PINPIPE_PREFIX      deployment prefix P (topics P.pin, P.geo, P.user)
    pinpipe_output        PINPIPE_OUTPUT      output root; the run lands in {output}/dt={ds}/

The BashOperator fails the task when batchjob exits non-zero; Airflow then retries
twice, two minutes apart, as the original job did. Readers must honour
{output}/dt={ds}/_SUCCESS, which batchjob writes last.
"""

import os
import shlex
from datetime import datetime, timedelta

from airflow import DAG
from airflow.models import Variable
from airflow.operators.bash import BashOperator

DAG_ID = "pinpipe_batch_daily"


def setting(name, env, default=""):
    """An Airflow Variable, defaulting to the environment variable env."""
    return Variable.get(name, default_var=os.environ.get(env, default))


def batch_command():
    """The bash command of the task; {{ ds }} is rendered by Airflow."""
    args = [
        setting("pinpipe_batch_bin", "PINPIPE_BATCH_BIN", "batchjob"),
        "--input", setting("pinpipe_input", "PINPIPE_INPUT"),
        "--prefix", setting("pinpipe_prefix", "PINPIPE_PREFIX"),
        "--output", setting("pinpipe_output", "PINPIPE_OUTPUT"),
    ]
    return " ".join(shlex.quote(a) for a in args) + " --date {{ ds }}"


default_args = {
    "owner": "pinpipe",
    "depends_on_past": False,
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
}

with DAG(
    dag_id=DAG_ID,
    description="pinpipe: landed topics -> clean tables and the nine insight tables (Parquet)",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args=default_args,
    tags=["pinpipe"],
) as dag:
    run_batch = BashOperator(
        task_id="run_batchjob",
        bash_command=batch_command(),
    )
