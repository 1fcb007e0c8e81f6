from django.apps import AppConfig


class BaselineConfig(AppConfig):
    name = "bench.django_baseline"
    label = "bench_admin"
    verbose_name = "物业管理"
