"""Every alert and home belongs to a municipality; municipalities have an intake team

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 22:30:00

Alerts with no team (an unknown sender, a concern about an empty home) used to belong to no
municipality, so access rules treated them as everyone's. Existing rows are backfilled from the
tenant, the team or the home; a home from its tenants, or from the only municipality there is.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intake_team_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_organisations_intake_team_id_teams", "teams",
                                    ["intake_team_id"], ["id"])
    with op.batch_alter_table("homes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_homes_organisation_id", ["organisation_id"])
        batch_op.create_foreign_key("fk_homes_organisation_id_organisations", "organisations",
                                    ["organisation_id"], ["id"])
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_alerts_organisation_id", ["organisation_id"])
        batch_op.create_foreign_key("fk_alerts_organisation_id_organisations", "organisations",
                                    ["organisation_id"], ["id"])
    op.execute("""
        UPDATE homes SET organisation_id = (
            SELECT MIN(t.organisation_id) FROM tenants t WHERE t.home_id = homes.id)""")
    op.execute("""
        UPDATE homes SET organisation_id = (SELECT MIN(id) FROM organisations)
        WHERE organisation_id IS NULL AND (SELECT COUNT(*) FROM organisations) = 1""")
    op.execute("""
        UPDATE alerts SET organisation_id = COALESCE(
            (SELECT t.organisation_id FROM tenants t WHERE t.id = alerts.tenant_id),
            (SELECT tm.organisation_id FROM teams tm WHERE tm.id = alerts.team_id),
            (SELECT h.organisation_id FROM homes h WHERE h.id = alerts.home_id))""")
    op.execute("""
        UPDATE alerts SET organisation_id = (SELECT MIN(id) FROM organisations)
        WHERE organisation_id IS NULL AND (SELECT COUNT(*) FROM organisations) = 1""")


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint("fk_alerts_organisation_id_organisations", type_="foreignkey")
        batch_op.drop_index("ix_alerts_organisation_id")
        batch_op.drop_column("organisation_id")
    with op.batch_alter_table("homes", schema=None) as batch_op:
        batch_op.drop_constraint("fk_homes_organisation_id_organisations", type_="foreignkey")
        batch_op.drop_index("ix_homes_organisation_id")
        batch_op.drop_column("organisation_id")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_constraint("fk_organisations_intake_team_id_teams", type_="foreignkey")
        batch_op.drop_column("intake_team_id")
