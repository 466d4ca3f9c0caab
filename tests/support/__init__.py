"""What the tests share and that is not a test: factories, fakes of outside services (Stripe, SMTP,
webhook receivers), real worker processes, the URL walk and small helpers. Modules that define fixtures
are loaded as pytest plugins by tests/conftest.py."""
