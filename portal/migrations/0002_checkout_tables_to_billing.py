"""Checkout attempts and webhook events belong to billing (billing/models.py): the tables are renamed
here and the models leave the portal's state; billing/migrations/0008_checkoutattempt_webhookevent.py
takes them into billing's state without touching the database."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name='checkoutattempt', table='billing_checkoutattempt'),
                migrations.AlterModelTable(name='webhookevent', table='billing_webhookevent'),
            ],
            state_operations=[
                migrations.DeleteModel(name='CheckoutAttempt'),
                migrations.DeleteModel(name='WebhookEvent'),
            ],
        ),
    ]
