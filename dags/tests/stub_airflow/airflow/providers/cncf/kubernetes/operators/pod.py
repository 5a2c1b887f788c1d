"""Stand-in of the cncf.kubernetes provider's KubernetesPodOperator: records
the pod it would run and renders its templated fields."""

from airflow import BaseOperator
from airflow.render import render


class KubernetesPodOperator(BaseOperator):
    template_fields = ("image", "cmds", "arguments", "namespace")

    def __init__(self, task_id, image, name=None, namespace=None, cmds=None, arguments=None,
                 retries=None, retry_delay=None, **kwargs):
        super().__init__(task_id, retries, retry_delay)
        self.image, self.name, self.namespace = image, name, namespace
        self.cmds, self.arguments = list(cmds or []), list(arguments or [])
        self.kwargs = kwargs

    def render(self, ds):
        """The pod's image, namespace and argv as Airflow renders them for ds."""
        return {"image": render(self.image, ds), "namespace": render(self.namespace, ds),
                "argv": [render(a, ds) for a in self.cmds + self.arguments]}
