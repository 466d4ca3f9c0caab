from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kundefaktura.accounts"
    label = "accounts"
    verbose_name = "Brukere og roller"
