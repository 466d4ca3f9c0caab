from django.urls import path

from .views import (
    actions,
    bases,
    bulk,
    changes,
    company,
    expired_offers,
    lines,
    overdue,
    refunds,
    settlement,
    shared_costs,
    worklist,
)

app_name = "billing"

# Mounted at /arbeid/ by kundefaktura/urls.py, which adds the change notice's PDF from the documents app.
urlpatterns = [
    path("", worklist.worklist, name="worklist"),
    path("grunnlag/ny/", bases.basis_create, name="basis_create"),
    path("grunnlag/<int:pk>/", bases.basis_detail, name="basis_detail"),
    path("grunnlag/<int:pk>/endre/", bases.basis_header_form, name="basis_header_form"),
    path("grunnlag/<int:pk>/linjer/", lines.lines_section, name="lines"),
    path("grunnlag/<int:pk>/linjer/ny/", lines.line_add, name="line_add"),
    path("grunnlag/<int:pk>/linjer/<int:line_pk>/", lines.line_edit, name="line_edit"),
    path("grunnlag/<int:pk>/linjer/<int:line_pk>/slett/", lines.line_delete, name="line_delete"),
    path("grunnlag/<int:pk>/handling/<slug:action>/", actions.basis_action, name="basis_action"),
    path("kunder/sok/", bases.customer_search, name="customer_search"),
    path("kunder/<int:pk>/velg/", bases.customer_pick, name="customer_pick"),
    path("felles/", shared_costs.shared_list, name="shared_list"),
    path("felles/ny/", shared_costs.shared_create, name="shared_create"),
    path("felles/<int:pk>/", shared_costs.shared_detail, name="shared_detail"),
    path("felles/<int:pk>/linjer/", shared_costs.shared_line_add, name="shared_line_add"),
    path("felles/<int:pk>/grunnlag/", shared_costs.shared_basis_search, name="shared_basis_search"),
    path("felles/<int:pk>/deltakere/", shared_costs.shared_participant_add, name="shared_participant_add"),
    path("felles/<int:pk>/tilbakebetaling/<int:refund_pk>/utsted/", shared_costs.shared_refund_issue,
         name="shared_refund_issue"),
    path("masse/send-tilbud/", bulk.bulk_send_offers, name="bulk_send_offers"),
    path("masse/<int:pk>/", bulk.bulk_detail, name="bulk_detail"),
    path("innstillinger/", company.company_settings, name="company_settings"),
    # After acceptance (livsløp): changes, final settlement, overdue invoices, refunds, expired offers.
    path("livslop/grunnlag/<int:pk>/endringer/", changes.changes, name="changes"),
    path("livslop/grunnlag/<int:pk>/sluttoppgjor/", settlement.settlement, name="settlement"),
    path("livslop/forfalte/", overdue.overdue, name="overdue"),
    path("livslop/tilbakebetalinger/", refunds.refunds, name="refunds"),
    path("livslop/tilbakebetalinger/<int:pk>/utbetalt/", refunds.refund_paid_out, name="refund_paid_out"),
    path("livslop/utlopte-tilbud/", expired_offers.expired, name="expired"),
    path("livslop/utlopte-tilbud/<int:pk>/forny/", expired_offers.renew, name="renew"),
]
