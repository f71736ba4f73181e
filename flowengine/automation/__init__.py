"""Automation: flows that start on their own — record-triggered flows around every write,
platform-event-triggered flows after every commit — and the project they come from.

    project = FlowProject.open("my-sfdx-project")
    automation = Automation(project, open_org(".flowengine/org.sqlite"))
    with automation.begin() as tx:          # writes run the record-triggered flows
        tx.insert("OrderSummary", {...})
    # committed: the events it published were delivered to their subscribers
"""
from __future__ import annotations

from flowengine.automation.engine import AutomatedStore, Automation
from flowengine.automation.project import FlowProject, ProjectFlow, find_project_root

__all__ = ["AutomatedStore", "Automation", "FlowProject", "ProjectFlow", "find_project_root"]
