"""Stand-in of airflow.operators.bash: records the task and renders its template."""

import airflow
from airflow.render import render


class BashOperator:
    def __init__(self, task_id, bash_command, retries=None, retry_delay=None, **kwargs):
        self.task_id = task_id
        self.bash_command = bash_command
        self.dag = airflow._current_dag[-1] if airflow._current_dag else None
        args = self.dag.default_args if self.dag else {}
        self.retries = retries if retries is not None else args.get("retries", 0)
        self.retry_delay = retry_delay if retry_delay is not None else args.get("retry_delay")
        if self.dag:
            self.dag.tasks.append(self)

    def render(self, ds):
        """The command as Airflow's Jinja rendering gives it for ds."""
        return render(self.bash_command, ds)
