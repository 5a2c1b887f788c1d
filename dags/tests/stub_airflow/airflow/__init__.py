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
