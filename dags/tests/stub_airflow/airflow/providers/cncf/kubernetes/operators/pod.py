"""Stand-in of the cncf.kubernetes provider's KubernetesPodOperator: records
the pod it would run and renders its templated fields."""

import airflow
from airflow.render import render


class KubernetesPodOperator:
    template_fields = ("image", "cmds", "arguments", "namespace")

    def __init__(self, task_id, image, name=None, namespace=None, cmds=None, arguments=None,
                 retries=None, retry_delay=None, **kwargs):
        self.task_id = task_id
        self.image, self.name, self.namespace = image, name, namespace
        self.cmds, self.arguments = list(cmds or []), list(arguments or [])
        self.kwargs = kwargs
        self.dag = airflow._current_dag[-1] if airflow._current_dag else None
        args = self.dag.default_args if self.dag else {}
        self.retries = retries if retries is not None else args.get("retries", 0)
        self.retry_delay = retry_delay if retry_delay is not None else args.get("retry_delay")
        if self.dag:
            self.dag.tasks.append(self)

    def render(self, ds):
        """The pod's image, namespace and argv as Airflow renders them for ds."""
        return {"image": render(self.image, ds), "namespace": render(self.namespace, ds),
                "argv": [render(a, ds) for a in self.cmds + self.arguments]}
