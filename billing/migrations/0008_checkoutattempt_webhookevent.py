"""Checkout attempts and webhook events join billing's state. Their tables already exist under these
names (portal/migrations/0002_checkout_tables_to_billing.py renamed them), so the database is unchanged."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0007_company_admin_group'),
        ('portal', '0002_checkout_tables_to_billing'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='CheckoutAttempt',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('provider', models.CharField(max_length=20)),
                        ('session_id', models.CharField(max_length=255, unique=True)),
                        ('idempotency_key', models.CharField(max_length=255, unique=True)),
                        ('payment_intent_id', models.CharField(blank=True, db_index=True, max_length=255)),
                        ('checkout_url', models.URLField(blank=True, max_length=2000)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('payment', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='checkout', to='billing.payment')),
                    ],
                    options={
                        'verbose_name': 'betalingsforsøk',
                        'verbose_name_plural': 'betalingsforsøk',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='WebhookEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('provider', models.CharField(max_length=20)),
                        ('event_id', models.CharField(max_length=255)),
                        ('type', models.CharField(max_length=100)),
                        ('result', models.CharField(blank=True, max_length=40)),
                        ('received_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'verbose_name': 'webhook-hendelse',
                        'verbose_name_plural': 'webhook-hendelser',
                        'ordering': ['-received_at'],
                        'constraints': [models.UniqueConstraint(fields=('provider', 'event_id'), name='webhookevent_unique_id')],
                    },
                ),
            ],
        ),
    ]
