from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_email_normal_form")]

    operations = [
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(condition=~Q(email=""), fields=("email",),
                                               name="accounts_user_email_unique"),
        ),
    ]
