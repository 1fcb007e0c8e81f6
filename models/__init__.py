"""All models, imported in menu order so that their declarations register."""

from models import region, estate, company, people, parking, facility, access, settings, audit, workflow, fees, fund_vote, repair_fund  # noqa: F401
from models.base import Entity, declared_entities  # noqa: F401
