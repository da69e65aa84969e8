from django.db import migrations


def load(apps, schema_editor):
    from yiyang.plan.loading import load_plans

    load_plans(
        Plan=apps.get_model("plan", "Plan"),
        Indicator=apps.get_model("plan", "Indicator"),
        MajorTask=apps.get_model("plan", "MajorTask"),
        KeyProject=apps.get_model("plan", "KeyProject"),
    )


class Migration(migrations.Migration):
    dependencies = [("plan", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
