"""Daily pinpipe batch run: the Airflow DAG that replaces the Databricks notebook job.

The task runs the batchjob binary for the run date (``{{ ds }}``). It publishes the
clean tables, the nine insight tables (partition dt={{ ds }}) and batch_quarantine as
Apache Iceberg tables in a catalog. Where the binary, its input and its tables are
comes from Airflow Variables, read when the task runs (Jinja templates, not at DAG
parse time), with the worker's environment (PINPIPE_*) as the default:

    pinpipe_batch_bin     PINPIPE_BATCH_BIN   path of batchjob (default "batchjob" on PATH)
    pinpipe_input         PINPIPE_INPUT       landing root, e.g. s3://bucket/topics
    pinpipe_prefix        PINPIPE_PREFIX      deployment prefix P (topics P.pin, P.geo, P.user)
    pinpipe_catalog       PINPIPE_CATALOG     Iceberg catalog URL (postgres://..., glue://, rest+https://...;
                                              empty with a local warehouse: SQLite in it)
    pinpipe_warehouse     PINPIPE_WAREHOUSE   where the tables' files go, e.g. s3://bucket/warehouse

The BashOperator fails the task when batchjob exits non-zero; Airflow then retries
twice, two minutes apart, as the original job did. Readers read the tables' current
snapshots: a run is visible once committed, table by table.

Runs of one DAG never overlap (max_active_runs=1): a run replaces the clean tables
with its state, so two dates at once would race. catchup is off: a new deployment
starts with today's run; a past date is re-run on purpose with
``airflow dags backfill -s D -e D pinpipe_batch_daily``, which replaces that date's
partition of the insight tables and of batch_quarantine (the clean tables take that
run's state).
"""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

DAG_ID = "pinpipe_batch_daily"


def setting(name, env, default=""):
    """A Jinja expression of the Variable name, rendered when the task runs; a
    missing Variable renders as the worker's environment variable env (or
    default), which bash expands."""
    fallback = "${%s:-%s}" % (env, default) if default else "${%s}" % env
    return '"{{ var.value.get(%r, %r) }}"' % (name, fallback)


def batch_command():
    """The bash command of the task; Airflow renders the templates."""
    args = [
        setting("pinpipe_batch_bin", "PINPIPE_BATCH_BIN", "batchjob"),
        "--input", setting("pinpipe_input", "PINPIPE_INPUT"),
        "--prefix", setting("pinpipe_prefix", "PINPIPE_PREFIX"),
        "--catalog", setting("pinpipe_catalog", "PINPIPE_CATALOG"),
        "--warehouse", setting("pinpipe_warehouse", "PINPIPE_WAREHOUSE"),
    ]
    return " ".join(args) + " --date {{ ds }}"


default_args = {
    "owner": "pinpipe",
    "depends_on_past": False,
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
}

with DAG(
    dag_id=DAG_ID,
    description="pinpipe: landed topics -> clean tables and the nine insight tables (Iceberg)",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["pinpipe"],
) as dag:
    run_batch = BashOperator(
        task_id="run_batchjob",
        bash_command=batch_command(),
    )
