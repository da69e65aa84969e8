import django.db.models.deletion
from django.db import migrations, models

# The single-column indexes that composite indexes already begin with. Dropped by name rather than
# through AlterField: for a change of db_index Django also drops and re-adds the column's foreign key,
# which re-checks every row of the table under a lock that blocks writes (the orders table is the
# platform's largest). The names are Django's own, the same on PostgreSQL and SQLite.
DOUBLED = (
    ("homecare_order_caregiver_id_c81ed169", "homecare_order", "caregiver_id"),
    ("homecare_order_elder_id_f1c626d2", "homecare_order", "elder_id"),
    ("homecare_order_provider_id_53e20d06", "homecare_order", "provider_id"),
    ("homecare_taskoutcome_order_id_1f0c7669", "homecare_taskoutcome", "order_id"),
)


class Migration(migrations.Migration):
    dependencies = [
        ("homecare", "0004_caregiver_history_indexes"),
        ("people", "0005_contact_ended_on"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(f"DROP INDEX IF EXISTS {name}", reverse_sql=f"CREATE INDEX {name} ON {table} ({column})")
                for name, table, column in DOUBLED
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="caregiver",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="homecare.caregiver",
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="elder",
                    field=models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="orders", to="people.elder"
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="provider",
                    field=models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="orders", to="homecare.provider"
                    ),
                ),
                migrations.AlterField(
                    model_name="taskoutcome",
                    name="order",
                    field=models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="task_outcomes", to="homecare.order"
                    ),
                ),
            ],
        ),
    ]
