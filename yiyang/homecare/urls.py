from django.urls import path

from yiyang.homecare import views

app_name = "homecare"
urlpatterns = [
    path("hotline/", views.hotline, name="hotline"),
    path("dispatch/", views.dispatch_board, name="dispatch"),
    path("visits/", views.my_visits, name="my_visits"),
    path("visits/sw.js", views.visits_service_worker, name="visits_sw"),
    path("my/", views.elder_home_page, name="elder_home"),
    path("audit/", views.audit_queue_page, name="audit_queue"),
    path("orders/<int:order_id>/", views.order_detail, name="order_detail"),
    path("orders/<int:order_id>/<slug:action>/", views.order_action, name="order_action"),
]

# Managing the supply side (views_providers) and recurrences and receivables (views_recurrences).
from yiyang.homecare import views_providers, views_recurrences  # noqa: E402

urlpatterns += [
    path("providers/", views_providers.provider_list, name="providers"),
    path("providers/new/", views_providers.provider_new, name="provider_new"),
    path("providers/<int:provider_id>/", views_providers.provider_detail, name="provider_detail"),
    path("providers/<int:provider_id>/auto-dispatch/", views_providers.provider_auto_dispatch, name="provider_auto_dispatch"),
    path("providers/<int:provider_id>/offerings/", views_providers.provider_offerings, name="provider_offerings"),
    path("providers/<int:provider_id>/caregivers/new/", views_providers.caregiver_new, name="caregiver_new"),
    path("caregivers/", views_providers.caregiver_list, name="caregivers"),
    path("caregivers/<int:caregiver_id>/", views_providers.caregiver_detail, name="caregiver_detail"),
    path("caregivers/<int:caregiver_id>/phone/", views_providers.caregiver_phone_reveal, name="caregiver_phone_reveal"),
    path("caregivers/<int:caregiver_id>/certificates/", views_providers.certificate_add, name="certificate_add"),
    path("certificates/<int:certificate_id>/", views_providers.certificate_edit, name="certificate_edit"),
    path("certificates/<int:certificate_id>/delete/", views_providers.certificate_delete, name="certificate_delete"),
    path("catalogue/", views_providers.catalogue_list, name="catalogue_list"),
    path("catalogue/new/", views_providers.catalogue_item, name="catalogue_new"),
    path("catalogue/<slug:code>/", views_providers.catalogue_item, name="catalogue_item"),
    path("recurrences/", views_recurrences.recurrence_list, name="recurrences"),
    path("elders/<int:elder_id>/recurrences/", views_recurrences.elder_recurrences, name="elder_recurrences"),
    path("recurrences/<int:recurrence_id>/<slug:action>/", views_recurrences.recurrence_action, name="recurrence_action"),
    path("receivables/", views_recurrences.receivables, name="receivables"),
    path("receivables.xlsx", views_recurrences.receivables_xlsx, name="receivables_xlsx"),
]
