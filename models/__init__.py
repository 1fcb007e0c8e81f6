"""All models, imported in menu order so that their declarations register."""

from models import region, estate, company, people, parking, facility, access, settings, audit, workflow, fees, fund_vote, governing_documents, owners_assembly, election, committee, first_assembly, repair_fund, oversight  # noqa: F401
from models import service_orders, community_life, safety, staff_quality  # noqa: F401  (daily operations)
from models import jobs, outbox, saved_filters  # noqa: F401
from models.base import Entity, declared_entities  # noqa: F401
