"""Stand-in of airflow.operators.bash: records the task and renders its template."""

from airflow import BaseOperator
from airflow.render import render


class BashOperator(BaseOperator):
    def __init__(self, task_id, bash_command, retries=None, retry_delay=None, **kwargs):
        super().__init__(task_id, retries, retry_delay)
        self.bash_command = bash_command

    def render(self, ds):
        """The command as Airflow's Jinja rendering gives it for ds."""
        return render(self.bash_command, ds)
