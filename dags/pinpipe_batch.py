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

Runs of one DAG never overlap (max_active_runs=1): each run merges what landed
since the previous run into the clean tables (the state), so runs build on each
other; a second run at once would fail its commits (another run committed the
table meanwhile) and be retried. catchup is off: with incremental state, the runs
a catchup would start for missed dates would all read what landed since the last
run (the first of them) and nothing (the others), and publish the insight tables
of the current state under each date. A backfill of a past date
(``airflow dags backfill -s D -e D pinpipe_batch_daily``) likewise reads only
what is new and republishes partition dt=D from the current state: it does not
recompute that date as it was. To rebuild everything (after changing the
cleaning rules, or once for tables of an older pinpipe), run batchjob with
--full; set the Variable pinpipe_batch_flags to "--full" for one run.

How batchjob reaches the workers, chosen by the environment variable
PINPIPE_BATCH_RUNNER of the process that parses this file:

    bash (default)  a BashOperator runs the binary on the worker. On Amazon MWAA,
                    deploy/mwaa/startup.sh (the environment's startup script, from
                    S3) downloads the static binary from s3://.../batchjob to
                    /usr/local/airflow/bin and sets PINPIPE_BATCH_BIN; on your own
                    workers, put it on PATH.
    kubernetes      a KubernetesPodOperator runs the pinpipe image (`make image`)
                    in a pod: Variable pinpipe_image (e.g. 123.dkr.ecr.../pinpipe:TAG),
                    pinpipe_k8s_namespace (default "default"); the pod's AWS
                    credentials come from its service account (IRSA). The other
                    settings must be Variables (a pod has no worker environment to
                    fall back on); pinpipe_batch_flags is not read (run a --full rebuild
                    as a one-off pod of the same image).

On MWAA the same two ways apply: MWAA's startup script for bash, or its
KubernetesPodOperator / EcsRunTaskOperator to run the image on EKS / ECS.
"""

from datetime import datetime, timedelta

import os

from airflow import DAG

DAG_ID = "pinpipe_batch_daily"
RUNNER = os.environ.get("PINPIPE_BATCH_RUNNER", "bash")
if RUNNER not in ("bash", "kubernetes"):
    raise ValueError("PINPIPE_BATCH_RUNNER=%r: want bash or kubernetes" % RUNNER)


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
    return " ".join(args) + " --date {{ ds }} {{ var.value.get('pinpipe_batch_flags', '') }}"


def pod_arguments():
    """The batchjob arguments of the pod; Airflow renders the templates. An
    empty Variable is an empty argument, which batchjob rejects clearly."""
    def var(name, default=""):
        return "{{ var.value.get(%r, %r) }}" % (name, default)
    args = ["--input", var("pinpipe_input"), "--prefix", var("pinpipe_prefix"),
            "--catalog", var("pinpipe_catalog"), "--warehouse", var("pinpipe_warehouse"),
            "--date", "{{ ds }}", "--progress", "never", "--log-format", "json"]
    return args


def batch_task():
    """The task that runs batchjob, in the way RUNNER says."""
    if RUNNER == "kubernetes":
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
        return KubernetesPodOperator(
            task_id="run_batchjob",
            name="pinpipe-batchjob",
            namespace="{{ var.value.get('pinpipe_k8s_namespace', 'default') }}",
            image="{{ var.value.get('pinpipe_image') }}",
            cmds=["/usr/local/bin/batchjob"],
            arguments=pod_arguments(),
            get_logs=True,
            on_finish_action="delete_pod",
        )
    from airflow.operators.bash import BashOperator
    return BashOperator(task_id="run_batchjob", bash_command=batch_command())


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
    run_batch = batch_task()
