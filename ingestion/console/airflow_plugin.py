"""The console inside Airflow's api-server, behind the Airflow login.

Registered through the `airflow.plugins` entry point (pyproject.toml), so `make airflow` and
the compose stack's api-server mount it at /cchc and add "Báo cáo CCHC" to the Airflow menu.
No login of its own: Airflow's auth manager decides, through the same dependencies Airflow's
own API uses.

    read the console     read access to the cchc_nightly DAG
    accept / reject      the right to trigger cchc_nightly (create DAG runs): the data team.
                         In the simple auth manager: roles user, op and admin; a viewer
                         reads only. With FAB or Keycloak: that permission on the DAG.

The reviewer recorded in the audit is the Airflow user, not a name typed in a form.
"""
# No `from __future__ import annotations`: FastAPI reads the dependencies' annotations at
# runtime, and they are imported inside airflow_access().
from typing import ClassVar

from airflow.plugins_manager import AirflowPlugin

DAG_ID = "cchc_nightly"
URL_PREFIX = "/cchc"


def airflow_access():
    from typing import Annotated

    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
    from airflow.configuration import conf
    from fastapi import Depends

    from .app import Access

    can_trigger = requires_access_dag("POST", DagAccessEntity.RUN, param_dag_id=DAG_ID)

    def nobody_signs_in() -> bool:
        # `make airflow` on one machine: every visitor is the same anonymous admin, so the
        # reviewer's own name is asked for, as in `cchc console`.
        return conf.getboolean("core", "simple_auth_manager_all_admins", fallback=False)

    def reviewer(allowed: Annotated[None, Depends(can_trigger)], user: GetUserDep) -> str | None:
        return None if nobody_signs_in() else user.get_name()

    def login_url(next_url: str) -> str:
        return get_auth_manager().get_url_login(next_url=next_url)

    return Access(reader=requires_access_dag("GET", param_dag_id=DAG_ID), reviewer=reviewer,
                  mode="trong Airflow (đăng nhập Airflow)", login_url=login_url, asks_name=nobody_signs_in)


def _console_app():
    from .app import create_app

    return create_app(airflow_access())


class CchcConsolePlugin(AirflowPlugin):
    name = "cchc_console"
    fastapi_apps: ClassVar[list] = [
        {"app": _console_app(), "url_prefix": URL_PREFIX, "name": "Bảng điều phối báo cáo CCHC"},
    ]
    external_views: ClassVar[list] = [
        {"name": "Báo cáo CCHC", "href": f"{URL_PREFIX}/worklist", "destination": "nav", "url_route": "cchc-console"},
    ]
