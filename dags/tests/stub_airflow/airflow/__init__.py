"""A minimal stand-in of the airflow modules pinpipe_batch.py uses (tests only).

It records what the DAG file declares; it schedules and runs nothing.
"""

_current_dag = []


class DAG:
    def __init__(self, dag_id, schedule=None, start_date=None, catchup=True,
                 default_args=None, description=None, tags=None, max_active_runs=16, **kwargs):
        self.dag_id = dag_id
        self.max_active_runs = max_active_runs
        self.schedule = schedule
        self.start_date = start_date
        self.catchup = catchup
        self.default_args = dict(default_args or {})
        self.description = description
        self.tags = tags or []
        self.tasks = []

    def __enter__(self):
        _current_dag.append(self)
        return self

    def __exit__(self, *exc):
        _current_dag.pop()
        return False


class BaseOperator:
    """What every stand-in operator records: its task id, its retries (the
    DAG's default_args unless given) and the DAG it was declared in."""

    def __init__(self, task_id, retries=None, retry_delay=None):
        self.task_id = task_id
        self.dag = _current_dag[-1] if _current_dag else None
        args = self.dag.default_args if self.dag else {}
        self.retries = retries if retries is not None else args.get("retries", 0)
        self.retry_delay = retry_delay if retry_delay is not None else args.get("retry_delay")
        if self.dag:
            self.dag.tasks.append(self)
